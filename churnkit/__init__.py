from churnkit.exceptions import *  # noqa
