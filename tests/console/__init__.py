# The warning a user's callback raises in the CLI test (warn_callback.py): it must still show.
USER_WARNING = "a user's own warning, unrelated to the known noise"
