"""OData v4 over a form's records, named and shaped as ODK Central names them, so that pyodk, Excel and Power BI
read it unchanged: the entity model (`$metadata`), the JSON entities of `Submissions` and of each repeat, and
`$filter`/`$orderby` compiled to SQL.

`model` builds the entity model and its documents, `filters` compiles `$filter`/`$orderby`, `read` reads
pages of entities with `$select`/`$expand`/`$skiptoken`. A caller who may not see identities gets sensitive
answers as null (as in every other read), and may neither filter nor sort on them: the matching rows, or
their order, would tell the value.
"""

from ingest.odata.filters import compiler_for, read_orderby
from ingest.odata.model import EDM_NS, EDMX_NS, Model, NoSuchEntity, NotImplementedHere, ODataError, model_of
from ingest.odata.read import MAX_TOP, Options, read_page, read_record, read_select, read_skiptoken, skiptoken

__all__ = [
    "EDMX_NS",
    "EDM_NS",
    "MAX_TOP",
    "Model",
    "NoSuchEntity",
    "NotImplementedHere",
    "ODataError",
    "Options",
    "compiler_for",
    "model_of",
    "read_orderby",
    "read_page",
    "read_record",
    "read_select",
    "read_skiptoken",
    "skiptoken",
]
