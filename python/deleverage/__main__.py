import sys

from deleverage.cli import main

sys.exit(main())
