"""Shared entry-point plumbing: user errors become one line on stderr and exit code 2."""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gran_tf.errors import GranError  # noqa: E402


def first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def run_main(main):
    """Runs ``main()``; a GranError prints ``error: <one line>`` and exits with status 2."""
    try:
        main()
    except GranError as e:
        print(f"error: {first_line(e)}", file=sys.stderr)
        sys.exit(2)
