# SPDX-License-Identifier: Apache-2.0
"""ftrack errors: ApiError and the helpers that build the common ones."""

# HTTP status used for an exception in strict mode when nothing else says.
STRICT_STATUS = {
    "InvalidCredentialsError": 401,
    "FTAuthenticationError": 401,
    "PermissionError": 403,
    "ParseError": 400,
    "ValidationError": 400,
    "ValueError": 400,
    "DuplicateEntryError": 409,
    "IntegrityError": 409,
    # the licence refusing a seat (seat_cap_exception): the name is ours,
    # what a real server answers is unknown (ftrack-api.md section 5)
    "LicenseError": 403,
}


class ApiError(Exception):
    """An ftrack error: becomes the single error object of a response."""

    def __init__(self, exception, content, status=None):
        Exception.__init__(self, "%s(%s)" % (exception, content))
        self.exception = exception
        self.content = content
        if status is None:
            status = STRICT_STATUS.get(exception, 500)
        self.status = status

    def body(self):
        return {"exception": self.exception, "content": self.content,
                "error_code": None}


def validation_error(msg):
    return ApiError("ValidationError", msg, 400)


def attribute_error(attr, type_name, problem):
    """'Attribute "attr" on entity type "type_name" problem.'"""
    return validation_error('Attribute "%s" on entity type "%s" %s.'
                            % (attr, type_name, problem))


def unknown_attribute(attr, type_name):
    return validation_error('Unknown attribute "%s" on entity type "%s".'
                            % (attr, type_name))


def not_found(type_name, key):
    return ApiError(
        "ValueError",
        "Could not find entity %s with entity_key %r."
        % (type_name, list(key)),
        404,
    )


def duplicate_entry(msg, exception="DuplicateEntryError"):
    return ApiError(exception, msg, 409)
