"""``python -m chaos``: the ``outage`` command."""

from chaos.cli import main

main()
