"""`python -m framestance.cli`: the same command line as `framestance`."""

from . import main

main()
