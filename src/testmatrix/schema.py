"""`python -m testmatrix.schema [--write]`: the JSON Schemas, at the published path."""

import sys

from testmatrix.config.schemafiles import main

if __name__ == "__main__":
    sys.exit(main())
