# Keys and tokens for handshake-cost.sh (python3-cryptography): writes keys/es.pem, keys/rs.pem, es.token, rs.token
# into the current directory.
import base64, json, time
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def pem(key, name):
    open(f"keys/{name}.pem", "wb").write(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
def token(alg, kid, sign):
    h = b64(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode()); p = b64(json.dumps({"sub": "42", "exp": int(time.time()) + 86400}).encode())
    return f"{h}.{p}.{b64(sign((h + '.' + p).encode()))}"
e = ec.generate_private_key(ec.SECP256R1()); pem(e, "es")
def es(m):
    r, s = decode_dss_signature(e.sign(m, ec.ECDSA(hashes.SHA256()))); return r.to_bytes(32, "big") + s.to_bytes(32, "big")
r = rsa.generate_private_key(public_exponent=65537, key_size=2048); pem(r, "rs")
open("es.token", "w").write(token("ES256", "es", es))
open("rs.token", "w").write(token("RS256", "rs", lambda m: r.sign(m, padding.PKCS1v15(), hashes.SHA256())))
