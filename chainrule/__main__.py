"""``python -m chainrule``: the guided tour."""
from .tour import main

main()
