# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SCRAM-SHA-256 verifiers: the client-side computation equals what PostgreSQL stores."""

import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import _scram

# (major, password, rolpassword) read from pg_authid after
#   SET password_encryption = 'scram-sha-256'; CREATE ROLE r PASSWORD '<password>'
# on real PostgreSQL 15 and 18 servers. The non-ASCII passwords cover each SASLprep step:
# NFKC (U+FB01 ligature, U+2168 roman numeral), non-ASCII space mapped to a space (U+00A0),
# mapped to nothing (soft hyphen U+00AD), bidi rules (Hebrew only: prepared; Hebrew around
# Latin letters: prohibited, so the raw bytes are used), a C1 control (prohibited: raw bytes).
SERVER_VECTORS = [
    ('15',
     'secret', 'SCRAM-SHA-256$4096:pujFo4LEGiYX2UtyAawaIw==$50D7p2uiR0TK0SeIWZLXM4UmkR0WPyoIzQzdH/JaFsk=:Kpx3ZosVINP4xFVIYD8y3FFWms+iPQQWYWY3QtddcW4='),
    ('15',
     'pgops-test', 'SCRAM-SHA-256$4096:I7J64wPFLkDL1r+HrQVu6g==$fDICEfGJ9BAyUNwZe9HIivkUAjgdFRiI2EquFnJPYpY=:px6wHvOPishOBp1TZl6Z0Ixrh33s9/tfluM6SAgLNT4='),
    ('15',
     'pässwörd', 'SCRAM-SHA-256$4096:KSz6tPQqAnbirEbYtH3OHg==$Cv/6bQgqQvxsSqJvftjHI1hkyce7U2O7ZIPJDqHRBVo=:GROZTrhPLyaZg+xUOVgPOGk1ox99CRKAcsezx6lQofg='),
    ('15',
     'ﬁx', 'SCRAM-SHA-256$4096:Kc8WanYeFJp8o1n/gMQUEQ==$TsBcyHLqz9P4lnoAj/jpDq+n4s9dQQEpDlN2x9zmm5E=:h1HUXBvwgsvFb9+4nYrh/tfs4nZRBn04GIYZXDg+k5Y='),
    ('15',
     'a\xa0b', 'SCRAM-SHA-256$4096:TgfSvfLBb3SRTqddeRvQsA==$MwLKHEi5rg3qTcOUijNmRULWhZ85SxiMjiCwNMl3OWg=:cUDPrun6M4fY/tcL8eNJqCMFyNFFk++/iBUuId8lu6s='),
    ('15',
     'so\xadft', 'SCRAM-SHA-256$4096:ovUDGLf7MG7mrX5Yo99WqQ==$G929VIAqLYY9pKdnXnhCGayWskFGO/EnxnRe4e6ckN8=:B7xj1GMdfgvPVdCXk+NIeHnJTcU06uatpVDilpcVdSA='),
    ('15',
     'אabcב', 'SCRAM-SHA-256$4096:ozoK1GdBYMrbovjiX6utsA==$KtcwLqrsXnQ1RBM7b2TJYObm3tLCMaUu+4zShkPtahw=:Fiw72DGoy8ZcGo393qXBs932EirYJuWX5Du2Ih9tbQM='),
    ('15',
     'אב', 'SCRAM-SHA-256$4096:bMUFWFS7gOQacdNoOt9p5A==$Gy9eSIMNzxaP060yZjrN4r7P9zhuiHAO1B00ntYAIh0=:9OaYxP3Gh30PA7p6ZyiVeWQF04p95VwXx4WYhrMiJl4='),
    ('15',
     'IⅨ', 'SCRAM-SHA-256$4096:IPOil/4SjdCKOmE+BmFv3g==$odgHBA0CLklYe1LyeAJ5zmz21gub7T64T9sIGkOElxU=:dLs7qXYNJ7Ffl+wsqt6E/7cePtdJjzk1vnUOMCyRWSI='),
    ('15',
     'ctl\x80x', 'SCRAM-SHA-256$4096:7JxbmIkCrTBKaLnjQyCJvw==$PGsE3p/0VDmp9U9wgeCahGj2u5tRd9B33Zpmd+olCKo=:BIuRL99KHck7w3msiXOJhBdXF6CRoRcL9f3NXjU+N9c='),
    ('18',
     'secret', 'SCRAM-SHA-256$4096:zou36M3Aao/Bwdayiabyqg==$FvrFvnTJWZDV4/BJivxUFkZaTM5wokTRz/ggpkxuzkw=:Nazng1BU+95a0rJorUOcxdJcLVal445mjQItLlnXX+w='),
    ('18',
     'pgops-test', 'SCRAM-SHA-256$4096:4Ya2z+FuiAM9ugGN54vD5A==$LXSQC6B8flbzdf4NuyjpBo9x6fEtBwS61E9eWpik2JM=:nVkO02oi8I0pX5bVXH8OjBy5Ua5yFE3DjGN25M4KdPc='),
    ('18',
     'pässwörd', 'SCRAM-SHA-256$4096:ZujUv8vELecJ4rXJFXE4sg==$iQXeeQYnGKRCwPqmWvSSlIGLBRkRD/uALidengiQ5R4=:k75VX9Ywz9fNg7eQnKOW2FK1gsK+Bti19DCZI+r5Tvo='),
    ('18',
     'ﬁx', 'SCRAM-SHA-256$4096:ajw5obhHyw3yn/cbKKVv2A==$chKFSanp8A7YUfIqSxZMVFFcQ7lfwjrj2JyrzQaIsZc=:sKtxbKfB9I79Mtd5uTjelD4vwiTiEervyOe+F9gwwCk='),
    ('18',
     'a\xa0b', 'SCRAM-SHA-256$4096:x/9JEg+lu4m7fRZbR/lZqg==$nxpiV7GAuzJ559ujCDudV6nNjtXMIy2ZTZR/rMJkGfA=:dwRpzmqqqtnwaqUK2jnV5wbND4pSSrYqGt6PdJUsWds='),
    ('18',
     'so\xadft', 'SCRAM-SHA-256$4096:EuLoXzZGjculdNlOwYCRQg==$t5I1FvUOjrWwgrIbXlL6GRp3Q6dutTcwUTI40tfilhY=:vcFA4IHs3rnWJkzS0B+HXfSZWeB5DhTfRRwdDi11+iw='),
    ('18',
     'אabcב', 'SCRAM-SHA-256$4096:8dnYJkgYW4YvHgU7LstJyg==$zFuy/pnbbDB+kuTt2gqtlKWvxB+O+4dYe/MByyeEfXo=:Tdy7f0n2x3aQGLoWZWvstu5jA5E3kmjU6eYkjgENwms='),
    ('18',
     'אב', 'SCRAM-SHA-256$4096:CM/0uosQzaVs5wtTM4f2pw==$AW7qXPp3inYmvpILfGvjmD2pRN4xsf2X9eeCvYeMZWk=:SyROyd567RmJw0JC4z6q89cC9RH97+iZ6vv7RlArgJE='),
    ('18',
     'IⅨ', 'SCRAM-SHA-256$4096:jAwkUK8NeUaWgDnVOSIJ2g==$GN9bbzuFC/xN95zYkS+wrn/DsGeZMTp5SB7iZnIHgVY=:8TO/zm8owJ38EYmjHIUgIfm/FC/nifwsxLVEVo2cWno='),
    ('18',
     'ctl\x80x', 'SCRAM-SHA-256$4096:LRU7guJK56VN3+DAfMuDpw==$0pk5hHT9P1XQxcXiQVcBsRZ1vX8qgSs8BLn77mJtH8s=:oV+ERJ+0AwhC2t+yJux/90QTRxoSoBGr07y6etKREes='),
]


@pytest.mark.parametrize('major, password, stored', SERVER_VECTORS)
def test_recomputed_with_the_stored_salt_equals_the_server_verifier(major, password, stored):
    iterations, salt, _stored_key, _server_key = _scram.parse(stored)
    assert _scram.build(password, salt, iterations) == stored
    assert _scram.matches(password, stored)


@pytest.mark.parametrize('major, password, stored', SERVER_VECTORS)
def test_another_password_does_not_match(major, password, stored):
    assert not _scram.matches(password + 'x', stored)


@pytest.mark.parametrize('password, prepared', [
    ('secret', b'secret'),
    ('with space', b'with space'),
    (u'\ufb01x', b'fix'),
    (u'a\u00a0b', b'a b'),
    (u'so\u00adft', b'soft'),
    (u'I\u2168', b'IIX'),
    (u'\u05d0\u05d1', u'\u05d0\u05d1'.encode('utf-8')),
    (u'\u05d0abc\u05d1', u'\u05d0abc\u05d1'.encode('utf-8')),   # bidi violation: raw
    (u'ctl\u0080x', u'ctl\u0080x'.encode('utf-8')),             # prohibited control: raw
    (u'\u00ad', u'\u00ad'.encode('utf-8')),                     # empty after mapping: raw
    (b'\xff\xfeinvalid', b'\xff\xfeinvalid'),                   # not UTF-8: raw
])
def test_saslprep(password, prepared):
    assert _scram.saslprep(password) == prepared


def test_build_format_and_random_salt():
    first = _scram.build('secret')
    second = _scram.build('secret')
    assert first != second
    iterations, salt, stored_key, server_key = _scram.parse(first)
    assert (iterations, len(salt), len(stored_key), len(server_key)) == (4096, 16, 32, 32)
    assert first.startswith('SCRAM-SHA-256$4096:')
    assert _scram.matches('secret', first)


def test_iterations_are_kept():
    verifier = _scram.build('secret', b'0123456789abcdef', 10000)
    assert verifier.startswith('SCRAM-SHA-256$10000:MDEyMzQ1Njc4OWFiY2RlZg==$')
    assert _scram.matches('secret', verifier)


@pytest.mark.parametrize('stored', [
    None, '', 'md5' + '0' * 32, 'SCRAM-SHA-256$x:abc$def:ghi', 'SCRAM-SHA-1$4096:YWJj$YWJj:YWJj',
    'SCRAM-SHA-256$4096:YWJj', 'SCRAM-SHA-256$4096:!!$YWJj:YWJj',
])
def test_what_is_not_a_verifier_never_matches(stored):
    assert not _scram.matches('secret', stored)


@pytest.mark.parametrize('stored', ['md5abc', 'SCRAM-SHA-256$x:YWJj$YWJj:YWJj', 'plain'])
def test_parse_refuses(stored):
    with pytest.raises(_scram.VerifierError, match='not a SCRAM-SHA-256 verifier'):
        _scram.parse(stored)


def test_zero_iterations_refused():
    with pytest.raises(ValueError, match='SCRAM iteration count must be at least 1, got 0'):
        _scram.build('secret', b'salt', 0)
