"""moto's server for the tests (tests/helpers/moto.ts starts it): `python3 moto_server.py -H 127.0.0.1 -p PORT`.

The same as `python3 -m moto.server`, with two bugs of moto 5.2.1 worked around, each by
replacing one method, and nothing else changed.

1. The SigV4 signature check of IAM-enforcing mode is off. moto 5.2.1 recomputes the signature
over a canonical query string that encodes `/` differently from botocore and the AWS CLI, so any
signed request whose query holds a `/` (ListObjectsV2 with a prefix or delimiter:
`aws s3 ls s3://bucket/backups/dev/`) fails with SignatureDoesNotMatch, a moto bug and not an
AWS rule. Only `IAMRequestBase.check_signature` is replaced: the caller is still identified by its access key
(an unknown key is refused) and every action is still authorized against that identity's
policies (a PutObject outside the granted prefix stays AccessDenied). A signature is worth
nothing on loopback anyway; the authorization is what the tests are about.

2. SendCommand with InstanceIds and no Targets reaches only those instances. moto 5.2.1 resolves
an empty Targets list as an EC2 filter that matches every instance, so a command sent to one
instance is recorded as sent to all of them (and its TargetCount counts them twice). With
Targets given (tag:Key), moto's own resolution against its EC2 instances is kept as it is.
"""
import os
import sys
import threading

import moto
from moto.iam.access_control import IAMRequestBase
from moto.server import main
from moto.ssm.models import Command

if moto.__version__ != "5.2.1":
    # Another moto may have fixed the bugs, or moved the methods: check before trusting the patches.
    raise SystemExit("tests/helpers/moto_server.py was written for moto 5.2.1, found " + moto.__version__)


def check_signature(self):
    """Identity and authorization stay; only the (buggy) signature comparison is skipped."""


IAMRequestBase.check_signature = check_signature

resolve_targets = Command._get_instance_ids_from_targets


def instances_of_targets(self):
    """No Targets select no instance (moto: every instance); Targets resolve as moto does."""
    return resolve_targets(self) if self.targets else []


Command._get_instance_ids_from_targets = instances_of_targets



def exit_with_parent():
    """The test process holds our stdin open: its end (normal or not) ends the server, no orphan."""
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    threading.Thread(target=exit_with_parent, daemon=True).start()
    main()
