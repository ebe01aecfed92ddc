# A real SMTP server for Sluice's tests (aiosmtpd), writing what it receives into a maildir.
# Options: --tls CERT KEY with --mode starttls (STARTTLS required) or --mode implicit (TLS from
# the first byte); --login USER:PASSWORD requires that login (only over TLS, aiosmtpd's default);
# --refuse N answers the first N messages "451 try again later"; --stall S waits S seconds
# before answering each message.
import argparse
import asyncio
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
parser.add_argument("--refuse", type=int, default=0)
parser.add_argument("--stall", type=float, default=0)
args = parser.parse_args()


class Flaky(Mailbox):
    # Refuses the first messages for a while, and answers each late, as a struggling server.
    refused = 0

    async def handle_DATA(self, server, session, envelope):
        if args.stall:
            await asyncio.sleep(args.stall)
        if Flaky.refused < args.refuse:
            Flaky.refused += 1
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, session, envelope)


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
    Flaky(args.maildir), hostname="127.0.0.1", port=args.port, ssl_context=ssl_context, **options
)
controller.start()
while True:
    time.sleep(3600)
