"""The base of errors caused by what a user gave us (a file, an option), as opposed
to bugs. Command-line entry points print these as one line and exit with 2."""


class InputError(Exception):
    pass
