# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"The OpenAPI 3 document of the terminal API (routes in api.py)."
import copy

BASE = '/<database_name>/hb/api/v1'
# Ids are the database's INTEGER (hb_marketplace.tools.MAX_ID)
ID = {'type': 'integer', 'minimum': 1, 'maximum': 2 ** 31 - 1}

ERROR_CODES = [
    'invalid_json', 'invalid_request', 'invalid_quantity', 'invalid_date',
    'phone_invalid', 'phone_unknown', 'phone_ambiguous',
    'contract_inactive', 'unknown_service', 'not_covered',
    'no_active_budget', 'category_not_in_budget', 'insufficient_funds',
    'not_configured', 'wrong_code', 'too_many_attempts', 'code_expired',
    'already_confirmed', 'not_pending', 'cancel_window_passed',
    'already_refunded', 'not_found', 'unauthorized', 'unavailable',
    'idempotency_key_reused', 'forbidden_origin', 'method_not_allowed',
    'too_large', 'internal_error',
    'too_many_codes', 'refused', 'monthly_limit',
    # claims (issue 14)
    'invalid_price', 'unknown_authorisation', 'authorisation_not_active',
    'future_date', 'before_period', 'too_far_back', 'outside_authorisation',
    'service_not_authorised', 'price_above_contract', 'price_above_cap',
    'over_monthly_cap', 'over_budget', 'duplicate',
    ]


def _error(description):
    return {
        'description': description,
        'content': {'application/json': {
                'schema': {'$ref': '#/components/schemas/Error'}}},
        }


def _charge(description):
    return {
        'description': description,
        'content': {'application/json': {
                'schema': {'$ref': '#/components/schemas/Charge'}}},
        }


CHARGE_ID = {
    'name': 'charge_id', 'in': 'path', 'required': True,
    'schema': ID,
    }

DOCUMENT = {
    'openapi': '3.0.3',
    'info': {
        'title': "Personal budget terminal API",
        'version': '1.0.0',
        'description': (
            "Charge a client's personal budget at the point of service. "
            "Request a charge with the client's mobile number; the client "
            "receives a one-time code by SMS; confirm the charge with it. "
            "Errors carry a stable code; messages follow Accept-Language "
            "(fi, en)."),
        },
    'security': [{'bearer': []}],
    'paths': {
        '/charges': {
            'post': {
                'operationId': 'requestCharge',
                'summary': "Request a charge and send the one-time code",
                'requestBody': {
                    'required': True,
                    'content': {'application/json': {'schema': {
                                '$ref': '#/components/schemas/'
                                'ChargeRequest'}}},
                    },
                'responses': {
                    '201': _charge("The charge was requested"),
                    '200': _charge("The charge of the same idempotency "
                        "key and the same request (nothing charged "
                        "again)"),
                    '400': _error("Refused; nothing was reserved "
                        "(invalid_json also for a body nested deeper "
                        "than 8 levels or a number longer than 32 "
                        "characters)"),
                    '401': _error("Missing, unknown or revoked key"),
                    '413': _error("The body is larger than the server "
                        "accepts (too_large)"),
                    '422': _error("The idempotency key was already used "
                        "with another request: another mobile, service "
                        "or quantity (idempotency_key_reused); nothing "
                        "was charged. The same request with the same key "
                        "answers 200 with the first charge"),
                    '429': _error("Too many requests of the number left "
                        "unconfirmed (too_many_codes); nothing was "
                        "reserved or sent"),
                    },
                },
            'get': {
                'operationId': 'listCharges',
                'summary': "List the provider's charges of a date range",
                'parameters': [
                    {'name': 'from', 'in': 'query', 'required': False,
                        'schema': {'type': 'string', 'format': 'date'},
                        'description': "First date (default today)"},
                    {'name': 'to', 'in': 'query', 'required': False,
                        'schema': {'type': 'string', 'format': 'date'},
                        'description': "Last date (default from)"},
                    ],
                'responses': {
                    '200': {
                        'description': "The charges",
                        'content': {'application/json': {'schema': {
                                    'type': 'object',
                                    'properties': {
                                        'from': {'type': 'string',
                                            'format': 'date'},
                                        'to': {'type': 'string',
                                            'format': 'date'},
                                        'charges': {'type': 'array',
                                            'items': {'$ref':
                                                '#/components/schemas/'
                                                'Charge'}},
                                        },
                                    }}},
                        },
                    '400': _error("Invalid dates"),
                    '401': _error("Missing, unknown or revoked key"),
                    },
                },
            },
        '/charges/{charge_id}': {
            'get': {
                'operationId': 'getCharge',
                'summary': "Read a charge",
                'parameters': [CHARGE_ID],
                'responses': {
                    '200': _charge("The charge"),
                    '401': _error("Missing, unknown or revoked key"),
                    '404': _error("No such charge of the provider"),
                    },
                },
            },
        '/charges/{charge_id}/confirm': {
            'post': {
                'operationId': 'confirmCharge',
                'summary': "Confirm a requested charge with the code",
                'parameters': [CHARGE_ID],
                'requestBody': {
                    'required': True,
                    'content': {'application/json': {'schema': {
                                'type': 'object',
                                'required': ['code'],
                                'properties': {
                                    'code': {'type': 'string',
                                        'pattern': '^[0-9]{6}$'},
                                    },
                                }}},
                    },
                'responses': {
                    '200': _charge("Captured: the sale is done"),
                    '400': _error("Invalid request"),
                    '401': _error("Missing, unknown or revoked key"),
                    '403': _error("Wrong code (attempts are counted)"),
                    '404': _error("No such charge of the provider"),
                    '409': _error("Already confirmed, cancelled, "
                        "expired or too many wrong codes"),
                    },
                },
            },
        '/charges/{charge_id}/cancel': {
            'post': {
                'operationId': 'cancelCharge',
                'summary': "Cancel a request, or a captured charge within "
                "the cancellation window (refunded in full)",
                'parameters': [CHARGE_ID],
                'responses': {
                    '200': _charge("Cancelled"),
                    '401': _error("Missing, unknown or revoked key"),
                    '404': _error("No such charge of the provider"),
                    '409': _error("The window passed or the charge is "
                        "not cancellable"),
                    },
                },
            },
        },
    'components': {
        'securitySchemes': {
            'bearer': {'type': 'http', 'scheme': 'bearer',
                'description': "The provider's API key from the portal"},
            },
        'schemas': {
            'ChargeRequest': {
                'type': 'object',
                'required': ['mobile', 'idempotency_key', 'lines'],
                'properties': {
                    'mobile': {'type': 'string',
                        'description': "The client's mobile number "
                        "(E.164 or Finnish national form)",
                        'example': '+358401234567'},
                    'idempotency_key': {'type': 'string', 'minLength': 1,
                        'maxLength': 255},
                    'lines': {'type': 'array', 'minItems': 1, 'items': {
                            'type': 'object',
                            'required': ['service', 'quantity'],
                            'properties': {
                                'service': dict(ID,
                                    description="Catalogue service id"),
                                'quantity': {'type': 'number',
                                    'exclusiveMinimum': True, 'minimum': 0,
                                    'multipleOf': 0.01},
                                },
                            }},
                    },
                },
            'Charge': {
                'type': 'object',
                'properties': {
                    'id': {'type': 'integer'},
                    'number': {'type': 'string'},
                    'kind': {'type': 'string',
                        'enum': ['charge', 'refund']},
                    'state': {'type': 'string', 'enum': [
                            'requested', 'captured', 'cancelled',
                            'expired']},
                    'date': {'type': 'string', 'format': 'date'},
                    'client_name': {'type': 'string'},
                    'amount': {'type': 'string', 'example': '70.00'},
                    'currency': {'type': 'string'},
                    'refunded_amount': {'type': 'string'},
                    'idempotency_key': {'type': 'string', 'nullable': True},
                    'origin': {'type': 'integer', 'nullable': True},
                    'expires_at': {'type': 'string', 'format': 'date-time',
                        'nullable': True},
                    'captured_at': {'type': 'string',
                        'format': 'date-time', 'nullable': True},
                    'cancelled_at': {'type': 'string',
                        'format': 'date-time', 'nullable': True},
                    'posted': {'type': 'boolean'},
                    'billed': {'type': 'boolean'},
                    'refused': {'type': 'boolean',
                        'description': "The client refused the request "
                        "on their page (state cancelled)"},
                    'lines': {'type': 'array', 'items': {
                            'type': 'object',
                            'properties': {
                                'service': {'type': 'integer'},
                                'name': {'type': 'string'},
                                'quantity': {'type': 'string'},
                                'unit_price': {'type': 'string'},
                                'amount': {'type': 'string'},
                                'month_left': {'type': 'string',
                                    'nullable': True, 'example': '25.00',
                                    'description': "What the client "
                                    "can still use this month of the "
                                    "budget line charged (its monthly "
                                    "cap, as in the AVAIN pilot), "
                                    "pending charges included; null when "
                                    "the line has no monthly cap"},
                                },
                            }},
                    },
                },
            'Error': {
                'type': 'object',
                'required': ['error'],
                'properties': {
                    'error': {
                        'type': 'object',
                        'required': ['code', 'message'],
                        'properties': {
                            'code': {'type': 'string',
                                'enum': ERROR_CODES},
                            'message': {'type': 'string'},
                            },
                        },
                    },
                },
            },
        },
    }


def _claim(description):
    return {
        'description': description,
        'content': {'application/json': {
                'schema': {'$ref': '#/components/schemas/Claim'}}},
        }


# Claims of services delivered under a standing authorisation (issue 14)
DOCUMENT['paths']['/claims'] = {
    'post': {
        'operationId': 'submitClaim',
        'summary': "Claim a service delivered under a standing "
        "authorisation: its amount is reserved at once and captured when "
        "the client's dispute window closes",
        'requestBody': {
            'required': True,
            'content': {'application/json': {'schema': {
                        '$ref': '#/components/schemas/ClaimRequest'}}},
            },
        'responses': {
            '201': _claim("The claim was made (pending)"),
            '200': _claim("The claim of the same idempotency key and the "
                "same request (nothing claimed again)"),
            '400': _error("Refused; nothing was reserved (the code tells "
                "why: outside the authorisation, over its monthly cap or "
                "the budget, before the period or too far back, a price "
                "above the contract's)"),
            '401': _error("Missing, unknown or revoked key"),
            '404': _error("No such active authorisation of the provider "
                "(unknown_authorisation)"),
            '409': _error("A likely duplicate (duplicate): send it again "
                "with confirm_duplicate true if intended"),
            '422': _error("The idempotency key was already used with "
                "another request (idempotency_key_reused)"),
            },
        },
    }
DOCUMENT['paths']['/claims/{claim_id}'] = {
    'get': {
        'operationId': 'getClaim',
        'summary': "Read a claim (its state and outcome)",
        'parameters': [{
                'name': 'claim_id', 'in': 'path', 'required': True,
                'schema': ID,
                }],
        'responses': {
            '200': _claim("The claim"),
            '401': _error("Missing, unknown or revoked key"),
            '404': _error("No such claim of the provider"),
            },
        },
    }
DOCUMENT['components']['schemas']['ClaimRequest'] = {
    'type': 'object',
    'required': ['authorisation', 'service', 'date', 'quantity',
        'idempotency_key'],
    'properties': {
        'authorisation': dict(ID, description="Standing authorisation id"),
        'service': dict(ID, description="Catalogue service id"),
        'date': {'type': 'string', 'format': 'date',
            'description': "The service date"},
        'quantity': {'type': 'number', 'exclusiveMinimum': True,
            'minimum': 0, 'multipleOf': 0.01},
        'unit_price': {'type': 'string', 'example': '35.00',
            'description': "At most the contract price (default)"},
        'idempotency_key': {'type': 'string', 'minLength': 1,
            'maxLength': 255},
        'confirm_duplicate': {'type': 'boolean', 'default': False},
        },
    }
DOCUMENT['components']['schemas']['Claim'] = {
    'type': 'object',
    'properties': {
        'id': {'type': 'integer'},
        'authorisation': {'type': 'integer'},
        'state': {'type': 'string', 'enum': [
                'pending', 'disputed', 'captured', 'reduced', 'rejected']},
        'date': {'type': 'string', 'format': 'date'},
        'service': {'type': 'integer'},
        'quantity': {'type': 'string'},
        'unit_price': {'type': 'string'},
        'claimed_amount': {'type': 'string'},
        'amount': {'type': 'string'},
        'currency': {'type': 'string'},
        'dispute_end': {'type': 'string', 'format': 'date'},
        'idempotency_key': {'type': 'string', 'nullable': True},
        'charge': {'type': 'integer', 'nullable': True,
            'description': "The captured charge billed for the claim"},
        'resolution_reason': {'type': 'string', 'nullable': True},
        },
    }


# The database may be unreachable for a moment (restart, fail-over); a
# request from another site's page (Origin) is refused; a method an
# address does not take, and an error of the server, are answered with
# the same error object
for _path in DOCUMENT['paths'].values():
    for _operation in _path.values():
        _operation['responses']['503'] = _error(
            "The database is unavailable for a moment; nothing was done "
            "or, for a request, retry with the same idempotency key")
        _operation['responses'].setdefault('403', _error(
                "Sent from another site's page (forbidden_origin)"))
        _operation['responses']['405'] = _error(
            "The address does not take this method (method_not_allowed)")
        _operation['responses']['500'] = _error(
            "An error of the server (internal_error); nothing was done")
        if _operation.get('requestBody') or 'confirm' in _operation.get(
                'operationId', '').lower():
            _operation['responses'].setdefault('413', _error(
                    "The body is larger than the server accepts "
                    "(too_large)"))


def document(server_url):
    "Return the OpenAPI document with the server at server_url"
    result = copy.deepcopy(DOCUMENT)
    result['servers'] = [{'url': server_url}]
    return result
