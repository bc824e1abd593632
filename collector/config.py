"""Default settings; every one can be overridden by a COLLECTOR_* environment variable."""

#: Database URL; unset means SQLite in the instance folder. `DATABASE_URL` (no prefix) also sets it.
DATABASE_URL = None
#: Folder for submission media and form attachments; unset means `<instance>/media`.
MEDIA_DIR = None
#: Where media live: `local` (the folder MEDIA_DIR) or `s3` (a bucket of S3-compatible object storage: AWS S3,
#: MinIO, Ceph...). With `s3`, MEDIA_DIR only holds the partial copies of uploads in progress.
MEDIA_STORE = "local"
#: URL of the S3-compatible service, e.g. https://minio.example.org:9000; unset: AWS S3 itself.
S3_ENDPOINT_URL = None
#: Bucket holding the media (created beforehand, private; versioning off). Required with MEDIA_STORE=s3.
S3_BUCKET = None
#: Prefix of every object key, e.g. `collector/` to share a bucket; empty: keys at the bucket's root.
S3_PREFIX = ""
#: Region of the bucket; unset: AWS_DEFAULT_REGION or boto3's configuration.
S3_REGION = None
#: Access key of the account that writes the bucket; unset: AWS_ACCESS_KEY_ID, ~/.aws or an instance role.
S3_ACCESS_KEY_ID = None
#: Its secret; unset: AWS_SECRET_ACCESS_KEY, ~/.aws or an instance role. Keep it in the instance config file.
S3_SECRET_ACCESS_KEY = None
#: Seconds a client is asked to wait (Retry-After of a 503) when the database cannot be reached.
DATABASE_RETRY_AFTER = 5
#: Seconds a client is asked to wait (Retry-After of a 503) when the media store cannot take a file.
MEDIA_STORE_RETRY_AFTER = 30
#: Seconds between two sweeps of the media store for partial copies of killed uploads, in each web process.
MEDIA_SWEEP_SECONDS = 600
#: Largest submission POST accepted, advertised as X-OpenRosa-Accept-Content-Length (bytes).
MAX_SUBMISSION_BYTES = 100 * 1024 * 1024
#: Largest instance XML part accepted (bytes).
MAX_XML_BYTES = 10 * 1024 * 1024
#: Seconds any request body may take before BODY_MIN_RATE applies; slower bodies are stopped with 408.
BODY_TIMEOUT = 60
#: Slowest average rate (bytes per second) a request body may arrive at once BODY_TIMEOUT has passed.
BODY_MIN_RATE = 1024
#: Largest XLSForm upload accepted (bytes).
MAX_XLSFORM_BYTES = 5 * 1024 * 1024
#: Base URL that tablets use to reach this server, for device QR codes printed outside a request. Stored in
#: `<instance>/public_url` by `collector setup` and by the server's start, and read from there by every later
#: command and worker of the instance; unset and never stored: http://127.0.0.1:8080, with a warning.
PUBLIC_URL = None
#: Name of the default project, shown in ODK Collect.
PROJECT_NAME = "Lao PDR trafficking cases"
#: Official emblem printed on the covers of handbooks, paper forms and course kits: a PNG or JPEG file (at most
#: 2 MB) the operator supplies; none is bundled. Unset: covers without an emblem.
HANDBOOK_EMBLEM = None
#: Version of the guidelines printed on the covers; empty: the newest version of the forms printed.
HANDBOOK_EDITION = ""
#: Date of that version, printed on the covers (e.g. 2026-12-01); empty: the date of printing.
HANDBOOK_EDITION_DATE = ""
#: Hours a bearer token from POST /v1/sessions stays valid.
SESSION_HOURS = 24
#: Failed sign-ins in a row for one account, or from one address, before passwords must wait (429).
SIGNIN_MAX_FAILURES = 10
#: Seconds of the first wait once the limit is reached; each further failure doubles it.
SIGNIN_DELAY_SECONDS = 30
#: Longest wait between two passwords tried for one account or from one address.
SIGNIN_MAX_DELAY_MINUTES = 15
#: Minutes after a key's last attempt when its failures are forgotten.
SIGNIN_WINDOW_MINUTES = 60
#: Days a browser or tool keeps the known-device cookie that lets it sign in past failures made elsewhere.
SIGNIN_DEVICE_DAYS = 180
#: Addresses or networks of the reverse proxies (nginx) whose X-Forwarded-* headers are honoured, separated
#: by commas; empty: nobody's, the headers of every other peer are dropped.
TRUSTED_PROXIES = ""
#: Reverse-proxy hops, in a row in front of the app, whose X-Forwarded-Proto/-Host/-For/-Prefix are applied.
PROXY_HOPS = 1
#: Key that signs the web console's session cookie; unset means one generated once into `<instance>/secret_key`
#: (mode 600). Give every host behind one address the same key (instance config file or COLLECTOR_SECRET_KEY).
SECRET_KEY = None
#: Run ODK Validate (Java) when publishing forms.
VALIDATE_FORMS = True
#: Wrap new form keys with the cheapest argon2id settings (for the test suite only; never on a server).
KEY_KDF_FAST = False
#: Smallest case count a statistics table shows; smaller cells (and those that would give them away) are hidden.
STATS_THRESHOLD = 11
#: Redis for background jobs (person matching), e.g. redis://127.0.0.1:6379/0, run by `collector worker`.
#: Unset: jobs run on a thread of the web process.
REDIS_URL = None
#: Name of the RQ queue the jobs go to (several servers may share one Redis with different names).
JOB_QUEUE = "collector"
#: Run an incremental person match in the background after each record of a form that names the person.
PERSON_MATCH_ON_SUBMIT = True
#: Format of the server's and the job worker's logs on stderr: `json` (one object per line, for a log collector)
#: or `text`.
LOG_FORMAT = "json"
#: Lowest level logged: DEBUG, INFO, WARNING or ERROR.
LOG_LEVEL = "INFO"
#: Let clients on this machine that reach gunicorn directly (a loopback peer, through no proxy) read /metrics.
METRICS_LOOPBACK = True
#: A secret that lets Prometheus read /metrics from anywhere with `Authorization: Bearer <token>`; unset: only
#: the loopback clients of METRICS_LOOPBACK.
METRICS_TOKEN = None
#: `collector doctor` fails when the media store's or the SQLite database's disk has less free space (MB).
DISK_MIN_FREE_MB = 1024
