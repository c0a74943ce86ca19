"""`python -m server.cli ...`, as the `paydeck` command."""

from server.cli import main

main()
