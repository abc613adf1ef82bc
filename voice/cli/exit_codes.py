"""The exit codes of the numb-legs command, one set for every subcommand."""

EXIT_OK = 0
EXIT_BAD_INPUT = 1  # something the person gave could not be used (a question, a file, a name)
EXIT_BROKEN = 2  # numb-legs itself cannot work (a damaged data file, a failed device)
EXIT_INTERRUPTED = 130  # stopped with Ctrl+C, as shells report SIGINT (128 + 2)
