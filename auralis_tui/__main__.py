"""``python -m auralis_tui`` runs the command-line interface."""

from auralis_tui.cli import main

raise SystemExit(main())
