"""The MCP server: PostPost's tools for AI assistants, over streamable HTTP (`/mcp`) and stdio.

Built on the official `mcp` SDK's low-level server. Tools call the services directly and answer
with the REST bodies (`postpost.wire`) as JSON text; nothing here calls the REST API over HTTP.

- `deps.py`: what the tools need (database, key hasher, credentials, adapters, storage, …)
- `auth.py`: the API key of a request and the principal it acts as (client "mcp")
- `arguments.py`: each tool's arguments, whose JSON schema is the tool's input schema
- `tools.py`: the tools (name, description, arguments, handler) in one registry
- `preview.py`: `preview_split`, how content is split and counted per platform
- `resources.py`: resources (connections, next scheduled posts) and the post template
- `server.py`: the SDK server wiring tools and resources to authentication and errors
- `http.py`: the `/mcp` endpoint of `postpost serve`; `stdio.py`: `postpost mcp`
"""
