"""Authentication of CDS clients (CDS Hooks 2.0 "Trusting CDS Clients"): each call carries
``Authorization: Bearer <JWT>`` signed by a trusted issuer's private key.

* ``issuers``: the trusted issuers file (``MRCDS_TRUSTED_ISSUERS``).
* ``keys``: each issuer's JWK Set, inline or fetched from its configured ``jku`` and cached.
* ``replay``: the shared ``jwt_replay`` table; a ``jti`` is accepted once.
* ``verify``: the checks, in the order of the CDS Hooks best-practice checklist; every
  refusal carries a ``Reason`` (for logs and metrics), never the token.
* ``mode``: ``MRCDS_AUTH`` resolved against the bind address, and the start-up refusals.
"""

from cds_service.auth.mode import AuthConfig, resolve_auth
from cds_service.auth.verify import AuthRejected, Reason, Verifier

__all__ = ["AuthConfig", "AuthRejected", "Reason", "Verifier", "resolve_auth"]
