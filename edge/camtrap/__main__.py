"""`python -m camtrap` runs the command line."""

import sys

from camtrap.cli import main

sys.exit(main())
