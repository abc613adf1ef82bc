"""``python -m voice`` runs the numb-legs command."""

import sys

from .cli.main import main

sys.exit(main())
