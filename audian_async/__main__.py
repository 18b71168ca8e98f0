"""``python -m audian_async``: the ``audian-async`` command line."""

from audian_async.cli import main

if __name__ == "__main__":
    main()
