"""IAM: deny policies that reproduce an outage on real AWS, and an evaluator for the policy language."""
