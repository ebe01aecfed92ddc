# A real SMTP server for Sluice's tests (aiosmtpd), writing what it receives into a maildir.
# Options: --tls CERT KEY with --mode starttls (STARTTLS required) or --mode implicit (TLS from
# the first byte); --login USER:PASSWORD requires that login (only over TLS, aiosmtpd's default).
import argparse
import ssl
import time

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--maildir", required=True)
parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
parser.add_argument("--mode", choices=["starttls", "implicit"], default="starttls")
parser.add_argument("--login")
args = parser.parse_args()

options = {}
ssl_context = None
if args.tls:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*args.tls)
    if args.mode == "implicit":
        # aiosmtpd knows TLS only from STARTTLS: it would refuse AUTH on a connection that is
        # TLS from the first byte.
        ssl_context = context
        options.update(auth_require_tls=False)
    else:
        options.update(tls_context=context, require_starttls=True)
if args.login:
    user, password = args.login.split(":", 1)

    def authenticate(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (user.encode(), password.encode())
        return AuthResult(success=ok, handled=False)  # on failure aiosmtpd answers 535

    options.update(authenticator=authenticate, auth_required=True)

controller = Controller(
    Mailbox(args.maildir), hostname="127.0.0.1", port=args.port, ssl_context=ssl_context, **options
)
controller.start()
while True:
    time.sleep(3600)
