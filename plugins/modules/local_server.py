#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: local_server
short_description: Run a long-lived server as a managed background process with a pid file
version_added: 0.1.0
description:
  - Starts a command detached from Ansible (its own session), its output appended to a log file, and records
    it in a pid file together with a hash of the command and environment.
  - Waits until O(health_url) answers 2xx. A second run with the same command leaves a healthy server alone;
    a different command or environment restarts it; O(state=stopped) stops it (SIGTERM, then SIGKILL).
  - The pid file also stores the process start time, so a recycled pid is never taken for the server.
author:
  - llmops.oke maintainers (@llmops)
options:
  state:
    description: Whether the server should be running.
    type: str
    choices: [started, stopped]
    default: started
  command:
    description: Program and arguments; required with O(state=started).
    type: list
    elements: str
  env:
    description:
      - Extra environment variables for the process (for example an API key). Hidden from logs.
      - Part of the config hash, so changing one restarts the server.
    type: dict
    default: {}
  pidfile:
    description: Path of the pid file (JSON).
    type: path
    required: true
  logfile:
    description: Path of the log file the process writes to; required with O(state=started).
    type: path
  health_url:
    description: URL that answers 2xx once the server is ready; required with O(state=started).
    type: str
  health_timeout:
    description: Seconds to wait for O(health_url) after a start.
    type: int
    default: 300
  stop_timeout:
    description: Seconds to wait after SIGTERM before SIGKILL.
    type: int
    default: 30
  chdir:
    description: Working directory of the process.
    type: path
attributes:
  check_mode:
    support: full
    description: Reports whether a start, restart or stop would happen, without starting or stopping anything.
  diff_mode:
    support: full
    description: Shows the state and config hash before and after.
notes:
  - Linux only (reads C(/proc)).
"""

EXAMPLES = r"""
- name: Run llama-server on 127.0.0.1:8080
  llmops.oke.local_server:
    command: [/opt/llama-server, --model, /models/demo.gguf, --host, 127.0.0.1, --port, "8080", --metrics]
    pidfile: /var/tmp/llama-server.pid
    logfile: /var/tmp/llama-server.log
    health_url: http://127.0.0.1:8080/health

- name: Stop it
  llmops.oke.local_server:
    state: stopped
    pidfile: /var/tmp/llama-server.pid
"""

RETURN = r"""
pid:
  description: Pid of the running server (null when stopped).
  returned: always
  type: int
  sample: 12345
action:
  description: What was done.
  returned: always
  type: str
  sample: restart
config_hash:
  description: Hash of the command and environment the server runs with.
  returned: when state is started
  type: str
  sample: 3f1c0a9b2d4e5f60
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.oke.plugins.module_utils.local.process import LocalProcessError, ensure


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["started", "stopped"], default="started"),
            command=dict(type="list", elements="str"),
            env=dict(type="dict", default={}, no_log=True),
            pidfile=dict(type="path", required=True),
            logfile=dict(type="path"),
            health_url=dict(type="str"),
            health_timeout=dict(type="int", default=300),
            stop_timeout=dict(type="int", default=30),
            chdir=dict(type="path"),
        ),
        required_if=[("state", "started", ("command", "logfile", "health_url"))],
        supports_check_mode=True,
    )
    params = module.params
    env = {str(key): str(value) for key, value in params["env"].items()}
    try:
        result = ensure(params["state"], params["command"] or [], env, params["pidfile"], params["logfile"],
                        params["health_url"], params["health_timeout"], params["stop_timeout"], params["chdir"],
                        module.check_mode)
    except LocalProcessError as error:
        module.fail_json(msg="local_server {}: {}".format(params["pidfile"], error))
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
