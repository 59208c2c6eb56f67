# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""A local SAML 2.0 identity provider standing in for Suomi.fi
e-Identification in tests and the demo (pysaml2's identity provider side).

It makes its own keys and those of the service provider in a folder
(nothing in git), writes its metadata, and answers authentication requests
for fictitious people with signed and encrypted assertions, as Suomi.fi
does. Tests use ``LocalIdP`` directly and may make it misbehave (another
key, another audience, an expired or unsigned assertion, a low level of
assurance). ``python -m trytond.modules.hb_voucher.tests.saml_idp`` serves
it over HTTP for the demo (a page to pick a fictitious person)."""
import base64
import datetime as dt
import html
import os
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_TRANSIENT, NameID
from saml2.server import Server

LOA2 = 'http://ftn.ficora.fi/2017/loa2'
LOA3 = 'http://ftn.ficora.fi/2017/loa3'
ENTITY_ID = 'https://tunnistus.test.invalid/idp'
SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'
URI_FORMAT = 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri'
# Fictitious people (temporary HETUs, individual numbers 900-999)
PEOPLE = [
    {'hetu': '010190-901T', 'name': "Liisa Asiakas"},
    ]


def _query(location):
    return {k: v[0]
        for k, v in parse_qs(urlparse(location).query).items()}


def make_keypair(folder, name):
    "Write a self-signed RSA key pair name.key/name.crt; return the paths"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256()))
    key_path = os.path.join(folder, name + '.key')
    cert_path = os.path.join(folder, name + '.crt')
    with open(key_path, 'wb') as file:
        file.write(key.private_bytes(serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    with open(cert_path, 'wb') as file:
        file.write(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def certificate_text(path):
    "The base64 body of a PEM certificate"
    with open(path) as file:
        lines = file.read().strip().splitlines()
    return ''.join(lines[1:-1])


class LocalIdP:
    """The identity provider of folder, at base_url (its SSO and SLO
    endpoints are base_url + /sso and /slo)"""

    def __init__(self, folder, base_url='https://tunnistus.test.invalid',
            entity_id=ENTITY_ID, key_name='idp'):
        self.folder = folder
        self.base_url = base_url.rstrip('/')
        self.entity_id = entity_id
        key_path = os.path.join(folder, key_name + '.key')
        if not os.path.exists(key_path):
            make_keypair(folder, key_name)
        self.key_file = key_path
        self.cert_file = os.path.join(folder, key_name + '.crt')
        self.sp_metadata = None
        self._server = None
        self.metadata_file = os.path.join(folder, 'idp-metadata.xml')

    def settings(self, lifetime=5):
        settings = {
            'entityid': self.entity_id,
            'signing_algorithm':
                'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
            'digest_algorithm': 'http://www.w3.org/2001/04/xmlenc#sha256',
            'key_file': self.key_file,
            'cert_file': self.cert_file,
            'service': {
                'idp': {
                    'endpoints': {
                        'single_sign_on_service': [
                            (self.base_url + '/sso', BINDING_HTTP_REDIRECT)],
                        'single_logout_service': [
                            (self.base_url + '/slo', BINDING_HTTP_REDIRECT)],
                        },
                    'name_id_format': [NAMEID_FORMAT_TRANSIENT],
                    'policy': {
                        'default': {
                            'lifetime': {'minutes': lifetime},
                            'attribute_restrictions': None,
                            'name_form': URI_FORMAT,
                            },
                        },
                    },
                },
            'metadata': {},
            }
        if self.sp_metadata:
            settings['metadata'] = {'inline': [self.sp_metadata]}
        return settings

    def write_metadata(self):
        "Write the identity provider's metadata file; return its path"
        idp_config = IdPConfig()
        idp_config.load(self.settings())
        with open(self.metadata_file, 'w', encoding='utf-8') as file:
            file.write(str(entity_descriptor(idp_config)))
        return self.metadata_file

    def trust(self, sp_metadata):
        "Trust the service provider of the metadata"
        self.sp_metadata = sp_metadata
        self._server = None

    @property
    def server(self):
        if self._server is None:
            idp_config = IdPConfig()
            idp_config.load(self.settings())
            self._server = Server(config=idp_config)
        return self._server

    def parse_request(self, location):
        "Return the authentication request of the SP's redirect location"
        query = _query(location)
        request = self.server.parse_authn_request(
            query['SAMLRequest'], BINDING_HTTP_REDIRECT)
        return request.message, query.get('RelayState')

    def respond(self, authn_request, hetu, name="Testi Henkilö", loa=LOA3,
            audience=None, destination=None, in_response_to=None,
            sign=True, encrypt=True, lifetime=None, name_id='transient-1'):
        """Return the base64 SAMLResponse for authn_request asserting the
        person of hetu; the keywords make it misbehave"""
        server = self.server
        if lifetime is not None:
            idp_config = IdPConfig()
            idp_config.load(self.settings(lifetime=lifetime))
            server = Server(config=idp_config)
        sp_entity_id = audience or authn_request.issuer.text
        if audience:
            # the audience (and the encryption) of another service
            server.metadata.load('inline', self.sp_metadata.replace(
                    authn_request.issuer.text, audience))
        certificate = certificate_text(self._sp_cert()) if encrypt else None
        response = server.create_authn_response(
            identity={
                'urn:oid:1.2.246.21': [hetu],
                'urn:oid:2.5.4.3': [name],
                },
            in_response_to=in_response_to or authn_request.id,
            destination=(destination
                or authn_request.assertion_consumer_service_url),
            sp_entity_id=sp_entity_id,
            name_id=NameID(format=NAMEID_FORMAT_TRANSIENT, text=name_id),
            authn={
                'class_ref': loa,
                'authn_auth': self.entity_id,
                },
            sign_assertion=sign, sign_response=sign,
            encrypt_assertion=encrypt,
            encrypt_cert_assertion=certificate)
        return base64.b64encode(str(response).encode('utf-8')).decode()

    def _sp_cert(self):
        return os.path.join(self.folder, 'sp.crt')

    def logout_request(self, destination, name_id, session_index,
            sign=True):
        "Return the redirect URL of a LogoutRequest sent to the SP"
        server = self.server
        _, request = server.create_logout_request(destination,
            self._sp_entity_id(),
            name_id=NameID(format=NAMEID_FORMAT_TRANSIENT, text=name_id),
            session_indexes=[session_index], sign=False)
        info = server.apply_binding(BINDING_HTTP_REDIRECT, str(request),
            destination, relay_state='fi', sign=sign,
            sigalg=SHA256 if sign else None)
        return dict(info['headers'])['Location']

    def parse_logout_request(self, location):
        "Return the LogoutRequest of the SP's redirect location"
        query = _query(location)
        request = self.server.parse_logout_request(
            query['SAMLRequest'], BINDING_HTTP_REDIRECT,
            relay_state=query.get('RelayState'), sigalg=query.get('SigAlg'),
            signature=query.get('Signature'))
        return request

    def _sp_entity_id(self):
        return next(iter(self.server.metadata.service_providers()))


def prepare(folder, base_url='https://tunnistus.test.invalid'):
    """Make the keys of the service provider (sp.key/sp.crt) and the
    identity provider in folder and write the identity provider's metadata;
    return (LocalIdP, the [hb_saml] options to configure)"""
    os.makedirs(folder, exist_ok=True)
    if not os.path.exists(os.path.join(folder, 'sp.key')):
        make_keypair(folder, 'sp')
    idp = LocalIdP(folder, base_url=base_url)
    idp.write_metadata()
    options = {
        'idp_metadata': idp.metadata_file,
        'key_file': os.path.join(folder, 'sp.key'),
        'cert_file': os.path.join(folder, 'sp.crt'),
        'accept_temporary_hetu': 'True',
        }
    return idp, options


def serve(folder, port, sp_metadata_url, people=PEOPLE):  # pragma: no cover
    """Serve the identity provider for the demo on 127.0.0.1:port: /sso
    shows the fictitious people, picking one posts their assertion to the
    service's ACS; /slo answers a logout"""
    from urllib.request import urlopen

    from werkzeug.serving import run_simple
    from werkzeug.wrappers import Request, Response

    idp, _ = prepare(folder, 'http://127.0.0.1:%s' % port)
    os.chmod(os.path.join(folder, 'sp.key'), 0o600)
    state = {}

    def app(environ, start_response):
        request = Request(environ)
        if idp.sp_metadata is None:
            idp.trust(urlopen(sp_metadata_url).read().decode('utf-8'))
        if request.path == '/sso' and request.method == 'GET':
            message, relay = idp.parse_request(request.url)
            state[message.id] = (message, relay)
            buttons = ''.join(
                '<p><button name="person" value="%d">%s (%s)</button></p>'
                % (i, html.escape(p['name']), html.escape(p['hetu']))
                for i, p in enumerate(people))
            body = ('<!DOCTYPE html><html lang="fi"><title>Testitunnistus'
                '</title><h1>Testitunnistus (ei Suomi.fi)</h1>'
                '<form method="post"><input type="hidden" name="id" '
                'value="%s">%s</form>' % (html.escape(message.id), buttons))
            return Response(body, content_type='text/html')(
                environ, start_response)
        if request.path == '/sso' and request.method == 'POST':
            message, relay = state.pop(request.form['id'])
            person = people[int(request.form['person'])]
            saml_response = idp.respond(message, person['hetu'],
                person['name'])
            body = ('<!DOCTYPE html><html><body onload="document.forms[0]'
                '.submit()"><form method="post" action="%s">'
                '<input type="hidden" name="SAMLResponse" value="%s">'
                '<input type="hidden" name="RelayState" value="%s">'
                '<button>Jatka</button></form></body></html>' % (
                    html.escape(message.assertion_consumer_service_url),
                    saml_response, html.escape(relay or '')))
            return Response(body, content_type='text/html')(
                environ, start_response)
        if request.path == '/slo':
            logout = idp.parse_logout_request(request.url)
            answer = idp.server.create_logout_response(logout.message,
                [BINDING_HTTP_REDIRECT])
            destination = logout.message.issuer.text.replace(
                'metadata', 'slo')
            info = idp.server.apply_binding(BINDING_HTTP_REDIRECT,
                str(answer), destination, relay_state='fi', response=True,
                sign=True, sigalg=SHA256)
            return Response('', status=303, headers={
                    'Location': dict(info['headers'])['Location']})(
                environ, start_response)
        return Response('Not Found', status=404)(environ, start_response)

    run_simple('127.0.0.1', port, app)


if __name__ == '__main__':  # pragma: no cover
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('folder')
    parser.add_argument('--port', type=int, default=8010)
    parser.add_argument('--sp-metadata', required=True,
        help="the URL of the service's metadata")
    parser.add_argument('--people',
        help="a JSON file of [{hetu, name}] to offer")
    arguments = parser.parse_args()
    people = PEOPLE
    if arguments.people:
        import json
        with open(arguments.people, encoding='utf-8') as file:
            people = json.load(file)
    serve(arguments.folder, arguments.port, arguments.sp_metadata, people)


