"""The numb-legs command: its subcommands and the doctor."""
