"""``python -m iome_ref``: the same command line as the ``iome`` console script."""

from iome_ref.cli import main

if __name__ == "__main__":
    main()
