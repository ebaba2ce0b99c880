# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# The libpq connection keywords of a conninfo dict option (module_utils/_conninfo.py OPTION_SPEC;
# tests/unit proves the two agree), documented once: DOCUMENTATION for an option named conninfo
# (postgresql_subscription, sequence_sync), PUBLISHER the same text for replication_info's option
# publisher. A module gives the option's own description (saying where the files named here are
# read), type and required; the fragment adds its suboptions.


class ModuleDocFragment(object):
    DOCUMENTATION = r'''
options:
  conninfo:
    suboptions:
      host: {description: [Host name(s) of the publisher.], type: str}
      hostaddr: {description: [IP address(es) of the publisher.], type: str}
      port: {description: [Port of the publisher.], type: int}
      dbname: {description: [Database on the publisher.], type: str}
      user: {description: [Role to connect as.], type: str}
      password: {description: [Password of O(conninfo.user). Never returned or logged.], type: str}
      passfile: {description: [Password file.], type: str}
      require_auth: {description: [Authentication methods the client accepts.], type: str}
      channel_binding: {description: [Channel binding (disable/prefer/require).], type: str}
      connect_timeout: {description: [Seconds to wait for the connection.], type: int}
      client_encoding: {description: [Client encoding.], type: str}
      options: {description: [Command-line options sent to the publisher.], type: str}
      application_name:
        description: [application_name the publisher shows (default the subscription's name for a subscription, else the module's name).]
        type: str
      fallback_application_name: {description: [Fallback application_name.], type: str}
      keepalives: {description: [TCP keepalives (1 on, 0 off).], type: int}
      keepalives_idle: {description: [Seconds of inactivity before a keepalive.], type: int}
      keepalives_interval: {description: [Seconds between keepalives.], type: int}
      keepalives_count: {description: [Keepalives lost before the connection is dead.], type: int}
      tcp_user_timeout: {description: [TCP_USER_TIMEOUT in milliseconds.], type: int}
      sslmode: {description: [SSL mode.], type: str}
      sslnegotiation: {description: [SSL negotiation (postgres/direct).], type: str}
      sslcompression: {description: [SSL compression (1/0).], type: str}
      sslcert: {description: [Client certificate file.], type: str}
      sslkey: {description: [Client key file.], type: str}
      sslpassword: {description: [Password of O(conninfo.sslkey). Never returned or logged.], type: str}
      sslcertmode: {description: [Client certificate mode.], type: str}
      sslrootcert: {description: [Root certificate file.], type: str}
      sslcrl: {description: [Certificate revocation list file.], type: str}
      sslcrldir: {description: [Certificate revocation list directory.], type: str}
      sslsni: {description: [Send SNI (1/0).], type: str}
      requirepeer: {description: [Required peer OS user (Unix sockets).], type: str}
      ssl_min_protocol_version: {description: [Minimum TLS version.], type: str}
      ssl_max_protocol_version: {description: [Maximum TLS version.], type: str}
      gssencmode: {description: [GSS encryption mode.], type: str}
      krbsrvname: {description: [Kerberos service name.], type: str}
      gsslib: {description: [GSS library (Windows).], type: str}
      gssdelegation: {description: [Delegate GSS credentials (1/0).], type: str}
      service: {description: [Service name in pg_service.conf.], type: str}
      target_session_attrs: {description: [Required session attributes.], type: str}
      load_balance_hosts: {description: [Host selection order (disable/random).], type: str}
'''


# The same keywords for an option named publisher (replication_info), derived from the text above.
ModuleDocFragment.PUBLISHER = (ModuleDocFragment.DOCUMENTATION.replace('\n  conninfo:\n', '\n  publisher:\n')
                               .replace('O(conninfo.', 'O(publisher.'))
