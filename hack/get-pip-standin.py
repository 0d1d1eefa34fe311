"""Stand-in for pip's get-pip.py, which ansible-test downloads from a host this network cannot reach.

ansible-test runs it with pip-install arguments (plus get-pip's own --no-setuptools/--no-wheel flags)
inside a fresh virtualenv: bootstrap the bundled pip with ensurepip, then install what was asked from PyPI.
"""

import subprocess
import sys

GET_PIP_ONLY_FLAGS = {"--no-setuptools", "--no-wheel"}

# In a subprocess: ensurepip disables pip's configuration files in its own process environment.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
arguments = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_FLAGS]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *arguments]))
