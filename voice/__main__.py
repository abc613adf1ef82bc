"""``python -m voice`` runs the numb-legs command."""

import sys

from .cli import main

sys.exit(main())
