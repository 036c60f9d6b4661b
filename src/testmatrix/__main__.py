import sys

from testmatrix.cli import main

sys.exit(main())
