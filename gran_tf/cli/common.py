"""Shared entry-point plumbing: user errors become one line on stderr and exit code 2."""
import logging
import sys

from gran_tf.errors import ConfigError, GranError


def first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def positive(flag, value):
    """A count flag's value, or a ConfigError if it is not at least 1."""
    if value is None or value < 1:
        raise ConfigError(f"{flag} must be at least 1, got {value}")
    return value


def refuse_positional(extra):
    """Every command takes flags only: a stray word (``--models a b``, where absl reads ``a`` and
    leaves ``b``) would be silently ignored."""
    if extra:
        raise ConfigError(f"unexpected arguments {' '.join(extra)}: commands take flags only; give a "
                          "repeated flag once per value (--models a --models b)")


DATA_FLAG_HELP = ("for a run trained on an array given from Python: that array as a .npy/.npz file "
                  "(checked against the sha256 in run.json)")


def run_main(main):
    """Runs ``main()``; a GranError prints ``error: <one line>`` and exits with its ``exit_code``
    (2 unless it says otherwise: a signal's 128 + N); so does a file the command cannot read or
    write (a read-only run directory, a full disk, a path that is a folder), exit 2."""
    try:
        main()
    except GranError as e:
        print(f"error: {first_line(e)}", file=sys.stderr)
        sys.exit(getattr(e, "exit_code", 2))
    except OSError as e:
        where = f": {e.filename}" if e.filename else ""
        print(f"error: {e.strerror or first_line(e)}{where}", file=sys.stderr)
        sys.exit(2)


def absl_entry(main):
    """The console-script entry of an absl-flags command: parse flags, then ``run_main(main)``,
    with TensorFlow's Python INFO lines (checkpoint sharding, collective set-up) kept off."""
    from absl import app
    from absl import logging as absl_logging

    def entry(argv):
        absl_logging.set_verbosity(absl_logging.WARNING)
        logging.getLogger("tensorflow").setLevel(logging.WARNING)
        run_main(lambda: refuse_positional(argv[1:]) or main())

    app.run(entry)
