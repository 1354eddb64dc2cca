"""The environment variables imgsync reads: trusted switches a repository can't set.

Names only, so that the configuration can read them without loading what they govern
(SVG parsing, host URL checks) on a run that needs neither.
"""

PIN_VARIABLE = "IMGSYNC_HOST_URL"  # the host URL this run may send credentials to
LSKY_URL_VARIABLE = "LSKY_BASE_URL"  # the old Lsky scripts' host: it pins the host too
ALLOW_HTTP_VARIABLE = "IMGSYNC_ALLOW_HTTP"  # "1": plain http:// to hosts off this machine
ALLOW_SCRIPTS_VARIABLE = "IMGSYNC_ALLOW_SVG_SCRIPTS"  # "1": upload SVGs that can run script
# "1": a `type = "command"` profile may run its program (the repository names it).
ALLOW_COMMAND_VARIABLE = "IMGSYNC_ALLOW_COMMAND"
# Tests set it to 0 to use worker processes on small trees, or huge to compare with one core.
PARALLEL_VARIABLE = "IMGSYNC_PARALLEL_FROM_CHARS"
