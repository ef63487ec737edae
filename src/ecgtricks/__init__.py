"""ecgtricks."""

import time as _time

# When this process started working (the first import of the package): the clock behind
# "seconds from the command to the first training step".
STARTED = _time.time()
