"""The daemons the tests talk to: started by test/python/python.spec.ts (npm test), named in the environment."""
import os
import unittest

REPO_A = os.environ.get("NOODLE_TEST_REPO_A")
REPO_B = os.environ.get("NOODLE_TEST_REPO_B")
GATEWAY = os.environ.get("NOODLE_TEST_GATEWAY")
API_URL = os.environ.get("NOODLE_TEST_API_URL")
EXAMPLES = os.environ.get("NOODLE_TEST_EXAMPLES")

needs_daemons = unittest.skipUnless(REPO_A and REPO_B and GATEWAY, "no daemons: run through `npm test` (test/python/python.spec.ts)")
