# SPDX-License-Identifier: Apache-2.0
"""Authentication: ftrack-user + ftrack-api-key, personal or global keys."""

from .errors import ApiError
from .values import norm

INVALID_CREDENTIALS_CONTENT = (
    "The supplied API key is not valid. API keys are created from Settings "
    "under the page API keys. The api key should be passed in the request "
    'header "ftrack-api-key".'
)


def authenticate(store, config, username, key):
    """Return (user record, is_global) or raise InvalidCredentialsError.

    The caller holds store.lock.
    """
    err = ApiError("InvalidCredentialsError", INVALID_CREDENTIALS_CONTENT, 401)
    if not username or not key:
        raise err
    user = store.find_user(username)
    if user is None:
        raise err
    ci = config.case_insensitive
    owner = None
    for u, k in config.personal_keys.items():
        if k == key and norm(u, ci) == norm(username, ci):
            owner = u
    if owner is not None:
        if user.get("is_active") is not True:
            raise err
        return user, False
    if key in config.global_keys:
        if user.get("is_active") is not True:
            raise err
        return user, True
    raise err
