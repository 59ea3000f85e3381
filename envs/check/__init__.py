"""The contract checker for GUI envs: is this env fit for training? (`agentrl envs check ID`)

gymnasium's `check_env` asks whether an env speaks the API; this asks whether an RL run can rely on it:

    contract       what must hold
    make           the registered entry point constructs the env
    observation    reset and step return {"screenshot": (H, W, 3) uint8, "instruction": non-empty str,
                   optional "text": str}, inside `observation_space`
    actions        junk action text gives reward 0, a non-empty info["action_error"], and the episode goes on
    termination    every episode ends (terminated or truncated) within the step cap
    expert         where a scripted expert exists (`expert_action`), it succeeds (its rate is reported)
    isolation      nothing from one episode is visible in the next (same seed -> same first observation)
    determinism    the same seed gives the same first screenshot and instruction, in a fresh instance
    clean close    close() releases what the env acquired: no stray processes, temp files or listening ports
    latency        reset and step latency percentiles (reported; never fails)

The env runs in a worker process (a new session, with its own TMPDIR) and every call has a time limit: an env that
hangs is killed with its whole process tree, and the call that hung is named. A contract that fails says
how to fix it. Leaks are found by growth: the env is made, played and closed twice, and whatever the
second round leaves behind that the first did not is a leak (a browser or X server shared by every env in a
process is started once and is not one).

    sandbox.py     the worker process and the time-limited calls into it
    contracts.py   the contracts: a table of (name, function, fix text), and `check_env` that runs it
    report.py      what a check found: a `Contract` line per contract, latencies, the expert's success rate
"""

from envs.check.contracts import CALL_FIXES, CONTRACTS, JUNK_ACTIONS, OBS_FIX, TABLE, ContractCheck, check_env
from envs.check.report import FAIL, PASS, SKIP, WARN, CheckReport, Contract
from envs.check.sandbox import CallLimits, EnvHung, EnvRaised, Worker

__all__ = [
    "CALL_FIXES",
    "CONTRACTS",
    "FAIL",
    "JUNK_ACTIONS",
    "OBS_FIX",
    "PASS",
    "SKIP",
    "TABLE",
    "WARN",
    "CallLimits",
    "CheckReport",
    "Contract",
    "ContractCheck",
    "EnvHung",
    "EnvRaised",
    "Worker",
    "check_env",
]
