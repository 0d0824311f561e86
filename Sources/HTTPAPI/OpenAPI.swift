/// The API's OpenAPI 3.1 document, served at `/api/v1/openapi.json`. A test
/// holds it to `API.routes`: a route added without its description fails.
enum OpenAPI {
    static let document = #"""
    {
      "openapi": "3.1.0",
      "info": {
        "title": "Omnigate API",
        "version": "1.0.0",
        "description": "Call records, lookups, events in, agents and queues, the live event stream and metrics of an Omnigate gateway. See docs/api.md."
      },
      "servers": [{"url": "http://127.0.0.1:8080"}],
      "security": [{"bearer": []}],
      "components": {
        "securitySchemes": {
          "bearer": {"type": "http", "scheme": "bearer", "description": "A token from `omnigate token new`; its role decides what it may do."},
          "session": {"type": "apiKey", "in": "cookie", "name": "omnigate_session", "description": "The agent console's session (POST /api/v1/session), in place of a bearer token, with the same role checks; a request that changes something also carries the session's X-CSRF-Token header."}
        },
        "schemas": {
          "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details.",
            "properties": {
              "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
              "errors": {"type": "array", "items": {"type": "object", "properties": {"item": {"type": "integer"}, "detail": {"type": "string"}}}}
            },
            "required": ["type", "title", "status", "detail"]
          },
          "CallRecord": {
            "type": "object",
            "description": "Asterisk's CDR fields, then the contact center's: the columns of `omnigate calls --format csv`.",
            "properties": {
              "uniqueid": {"type": "string"}, "direction": {"type": "string", "enum": ["inbound", "outbound"]}, "clid": {"type": "string"},
              "src": {"type": "string"}, "dst": {"type": "string"}, "dcontext": {"type": "string"}, "channel": {"type": "string"},
              "dstchannel": {"type": "string"}, "lastapp": {"type": "string"}, "lastdata": {"type": "string"},
              "start": {"type": "string", "format": "date-time"}, "answer": {"type": ["string", "null"], "format": "date-time"},
              "end": {"type": ["string", "null"], "format": "date-time"}, "duration": {"type": "integer"}, "billsec": {"type": "integer"},
              "disposition": {"type": "string"}, "contact_id": {"type": ["string", "null"]}, "agent": {"type": ["string", "null"]},
              "queue": {"type": ["string", "null"]}, "wait_ms": {"type": ["integer", "null"]},
              "agent_answer": {"type": ["string", "null"], "format": "date-time", "description": "When an agent's phone answered"},
              "talksec": {"type": ["integer", "null"], "description": "Seconds the agent and the customer were connected"}
            },
            "required": ["uniqueid", "direction", "start", "disposition"]
          },
          "Session": {
            "type": "object",
            "properties": {"role": {"type": "string"}, "agent": {"type": "string"}, "name": {"type": "string"}, "display_name": {"type": "string"},
                           "csrf_token": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"}, "idle_seconds": {"type": "integer"}},
            "required": ["role", "csrf_token", "expires_at"]
          },
          "CallPage": {
            "type": "object",
            "properties": {
              "records": {"type": "array", "items": {"$ref": "#/components/schemas/CallRecord"}},
              "next_cursor": {"type": "string", "description": "Where to go on from, now or later."},
              "more": {"type": "boolean", "description": "More records are there now."}
            },
            "required": ["records", "next_cursor", "more"]
          },
          "Event": {
            "type": "object",
            "description": "An interaction from another system (docs/timeline.md, events).",
            "properties": {
              "source": {"type": "string"}, "channel": {"type": "string", "enum": ["voice", "sms", "chat", "email", "social", "note"]},
              "direction": {"type": "string", "enum": ["inbound", "outbound", "internal"]}, "time": {"type": "string", "format": "date-time"},
              "contact": {"type": "string"}, "address": {"type": "string"}, "subject": {"type": "string"}, "summary": {"type": "string"},
              "body": {"type": "string"}, "status": {"type": "string"}, "agent": {"type": "string"}, "external_ref": {"type": "string"},
              "contact_id": {"type": "string", "description": "The same as contact"}, "thread_id": {"type": "string"},
              "media_path": {"type": "string"}, "media_duration_ms": {"type": "integer", "minimum": 0},
              "id": {"description": "An event's id in the store it was read from: ignored"}
            },
            "required": ["source"]
          },
          "Agent": {
            "type": "object",
            "properties": {
              "agent": {"type": "string"},
              "state": {"type": "string", "enum": ["logged_out", "available", "paused", "ringing", "on_call", "wrap_up"]},
              "presence": {"type": "string", "enum": ["logged_out", "available", "paused"]}, "reason": {"type": "string"},
              "queues": {"type": "array", "items": {"type": "string"}}, "phones": {"type": "integer"},
              "since": {"type": "string", "format": "date-time"}, "result": {"type": "string"}
            },
            "required": ["agent", "state", "presence", "queues", "phones", "since"]
          }
        },
        "responses": {
          "Problem": {"description": "An error", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        }
      },
      "paths": {
        "/health": {
          "get": {
            "summary": "Whether the gateway runs, and its live calls (no token)", "security": [],
            "responses": {"200": {"description": "Running", "content": {"application/json": {"schema": {"type": "object",
              "properties": {"status": {"type": "string"}, "live_calls": {"type": "integer"}}}}}}}
          }
        },
        "/metrics": {
          "get": {
            "summary": "Prometheus metrics (admin, supervisor)",
            "responses": {"200": {"description": "Prometheus text format 0.0.4", "content": {"text/plain": {"schema": {"type": "string"}}}},
                          "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/openapi.json": {
          "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}
        },
        "/api/v1/calls": {
          "get": {
            "summary": "Call records in the order they ended (admin, supervisor, helpdesk; agent: its own)",
            "parameters": [
              {"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "A next_cursor of an earlier page"},
              {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
              {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
              {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
              {"name": "direction", "in": "query", "schema": {"type": "string", "enum": ["inbound", "outbound"]}},
              {"name": "disposition", "in": "query", "schema": {"type": "string"}},
              {"name": "agent", "in": "query", "schema": {"type": "string"}},
              {"name": "queue", "in": "query", "schema": {"type": "string"}},
              {"name": "contact", "in": "query", "schema": {"type": "string"}}
            ],
            "responses": {
              "200": {"description": "A page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CallPage"}},
                                                          "text/csv": {"schema": {"type": "string"}}}},
              "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"},
              "403": {"$ref": "#/components/responses/Problem"}
            }
          },
          "post": {
            "summary": "Click-to-call: ring the agent's phone, then call the number as the agent would (admin, supervisor; agent: itself)",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
              "agent": {"type": "string"}, "to": {"type": "string"}}, "required": ["to"]}}}},
            "responses": {"202": {"description": "The agent answered; the number is being called", "content": {"application/json": {"schema": {"type": "object"}}}},
                          "400": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"},
                          "404": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"},
                          "502": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/calls/{uniqueid}": {
          "get": {
            "summary": "One call record",
            "parameters": [{"name": "uniqueid", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The record", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CallRecord"}}}},
                          "404": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/lookup": {
          "get": {
            "summary": "The screen pop for a number, email, SIP URI or chat handle",
            "parameters": [{"name": "q", "in": "query", "required": true, "schema": {"type": "string", "maxLength": 256}}],
            "responses": {"200": {"description": "The pop", "content": {"application/json": {"schema": {"type": "object"}}}},
                          "400": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/events": {
          "post": {
            "summary": "Events from chat and email systems: one, or a batch of up to 1,000, all or nothing (admin, integration)",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"oneOf": [
              {"$ref": "#/components/schemas/Event"},
              {"type": "object", "properties": {"events": {"type": "array", "maxItems": 1000, "items": {"$ref": "#/components/schemas/Event"}}}, "required": ["events"]}
            ]}}}},
            "responses": {
              "200": {"description": "Stored", "content": {"application/json": {"schema": {"type": "object",
                "properties": {"added": {"type": "integer"}, "already_stored": {"type": "integer"}}}}}},
              "400": {"$ref": "#/components/responses/Problem"}, "413": {"$ref": "#/components/responses/Problem"},
              "422": {"$ref": "#/components/responses/Problem"}
            }
          }
        },
        "/api/v1/agents": {
          "get": {
            "summary": "Agents' state (admin, supervisor; agent: itself)",
            "responses": {"200": {"description": "Agents", "content": {"application/json": {"schema": {"type": "object",
              "properties": {"agents": {"type": "array", "items": {"$ref": "#/components/schemas/Agent"}}}}}}}}
          }
        },
        "/api/v1/agents/{name}": {
          "get": {
            "summary": "One agent's state",
            "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The agent", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Agent"}}}},
                          "404": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/agents/{name}/state": {
          "put": {
            "summary": "Log an agent in or out, pause or unpause it (admin, supervisor; agent: itself)",
            "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
              "state": {"type": "string", "enum": ["available", "paused", "logged_out"]}, "reason": {"type": "string", "maxLength": 64},
              "queue": {"type": "string"}}, "required": ["state"]}}}},
            "responses": {"200": {"description": "The agent now", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Agent"}}}},
                          "400": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"},
                          "404": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/queues": {
          "get": {
            "summary": "Queues: strategy, members logged in, free members, callers waiting",
            "responses": {"200": {"description": "Queues", "content": {"application/json": {"schema": {"type": "object"}}}}}
          }
        },
        "/api/v1/stream": {
          "get": {
            "summary": "The live event stream (Server-Sent Events): pops, calls, agents, SMS",
            "parameters": [
              {"name": "topics", "in": "query", "schema": {"type": "string"}, "description": "pops, agents, calls, messages, separated by commas"},
              {"name": "shown", "in": "query", "schema": {"type": "string", "enum": ["pops"]},
               "description": "An agent's console that says when it shows each pop (POST /api/v1/pops/{sequence}/shown): the agent's phone rings after that"},
              {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}}
            ],
            "responses": {"200": {"description": "Events as they happen", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                          "403": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/pops/{sequence}/shown": {
          "post": {
            "summary": "An agent's console shows this pop: the agent's phone may ring now (agent: its own pops)",
            "parameters": [{"name": "sequence", "in": "path", "required": true, "schema": {"type": "integer"}}],
            "responses": {"204": {"description": "Noted (also when the ring no longer waited)"},
                          "400": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/messages": {
          "post": {
            "summary": "Send an SMS to a customer as an agent, as the agent's phone would (admin, supervisor; agent: as itself)",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
              "to": {"type": "string"}, "body": {"type": "string", "maxLength": 1600}, "agent": {"type": "string"}}, "required": ["to", "body"]}}}},
            "responses": {"202": {"description": "Handed on", "content": {"application/json": {"schema": {"type": "object"}}}},
                          "400": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"},
                          "404": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/contacts/{id}": {
          "get": {
            "summary": "A contact and its identities",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The contact", "content": {"application/json": {"schema": {"type": "object"}}}},
                          "404": {"$ref": "#/components/responses/Problem"}}
          },
          "put": {
            "summary": "Create or update a contact; identities are normalised and added (admin, integration)",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
              "name": {"type": "string"}, "tier": {"type": "string"}, "company": {"type": "string"},
              "identities": {"type": "array", "items": {"type": "object", "properties": {"kind": {"type": "string"}, "value": {"type": "string"}},
                "required": ["kind", "value"]}}}, "required": ["name"]}}}},
            "responses": {"200": {"description": "Updated", "content": {"application/json": {"schema": {"type": "object"}}}},
                          "201": {"description": "Created", "content": {"application/json": {"schema": {"type": "object"}}}},
                          "400": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/contacts/{id}/merge": {
          "post": {
            "summary": "Merge another contact into this one: its identities, events and call records move here (admin, supervisor, integration)",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
              "from": {"type": "string"}}, "required": ["from"]}}}},
            "responses": {"200": {"description": "The merged contact", "content": {"application/json": {"schema": {"type": "object"}}}},
                          "404": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/contacts/{id}/timeline": {
          "get": {
            "summary": "A contact's interactions on every channel, newest first",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                           {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}},
                           {"name": "before", "in": "query", "schema": {"type": "string"}, "description": "The next_before of the page before"}],
            "responses": {"200": {"description": "Events", "content": {"application/json": {"schema": {"type": "object", "properties": {
              "contact_id": {"type": "string"}, "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}}}}}},
                          "404": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/console/{file}": {
          "get": {
            "summary": "The agent console's files (HTML, CSS, JavaScript; vendor/chart.js from Debian's libjs-chart.js); / and /console redirect to /console/",
            "security": [],
            "parameters": [{"name": "file", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The file, with a Content-Security-Policy of this origin only", "content": {"text/html": {"schema": {"type": "string"}}}},
                          "304": {"description": "Not modified (If-None-Match)"}, "404": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/session": {
          "get": {
            "summary": "Who this session is: role, agent, and the CSRF token its changes carry",
            "security": [{"session": []}],
            "responses": {"200": {"description": "The session", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Session"}}}},
                          "401": {"$ref": "#/components/responses/Problem"}}
          },
          "post": {
            "summary": "Log in to the console: an agent with its SIP password, a supervisor or admin with its API token; sets the session cookie",
            "security": [],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
              "agent": {"type": "string"}, "password": {"type": "string"}, "token": {"type": "string"}}}}}},
            "responses": {"201": {"description": "Logged in (Set-Cookie: omnigate_session, HttpOnly, SameSite=Strict, Secure under HTTPS)",
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Session"}}}},
                          "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"},
                          "403": {"$ref": "#/components/responses/Problem"}, "429": {"$ref": "#/components/responses/Problem"}}
          },
          "delete": {
            "summary": "Log out: the session ends (X-CSRF-Token required)",
            "security": [{"session": []}],
            "responses": {"204": {"description": "Logged out; the cookie is cleared"}, "401": {"$ref": "#/components/responses/Problem"},
                          "403": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/calls/{uniqueid}/wrapup": {
          "get": {
            "parameters": [{"name": "uniqueid", "in": "path", "required": true, "schema": {"type": "string"}}],
            "summary": "The wrap-up notes joined to a call (admin, supervisor, helpdesk, agent: its own calls)",
            "security": [{"bearer": []}, {"session": []}],
            "responses": {"200": {"description": "The notes", "content": {"application/json": {"schema": {"type": "object", "properties": {
              "uniqueid": {"type": "string"}, "wrap_ups": {"type": "array", "items": {"type": "object"}}}}}}},
                          "404": {"$ref": "#/components/responses/Problem"}}
          },
          "post": {
            "summary": "Wrap up a call: a note on the caller's timeline joined to the call by its uniqueid; ends the agent's wrap-up (admin, supervisor, agent: calls it took or was offered)",
            "parameters": [{"name": "uniqueid", "in": "path", "required": true, "schema": {"type": "string"}}],
            "security": [{"bearer": []}, {"session": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
              "disposition": {"type": "string"}, "note": {"type": "string"}, "follow_up": {"type": "string", "format": "date"},
              "end_wrap_up": {"type": "boolean", "default": true}, "agent": {"type": "string"}}, "required": ["disposition"]}}}},
            "responses": {"201": {"description": "The note as stored (channel note, thread_id the call's uniqueid), and whether wrap-up ended",
                                  "content": {"application/json": {"schema": {"type": "object"}}}},
                          "400": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"},
                          "409": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/events/{id}/recording": {
          "get": {
            "summary": "A timeline event's recording, such as a voicemail (admin, supervisor, helpdesk, agent)",
            "security": [{"bearer": []}, {"session": []}],
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "The recording", "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}},
                          "404": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/journeys": {
          "get": {
            "summary": "Journey figures from the timeline across channels: first-contact resolution, repeat contacts by first channel, channel switches; service level and abandon rate per queue and day (admin, supervisor)",
            "security": [{"bearer": []}, {"session": []}],
            "parameters": [
              {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
              {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
              {"name": "window_days", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 90, "default": 7}},
              {"name": "service_level", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 3600, "default": 20}},
              {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]}}],
            "responses": {"200": {"description": "The figures", "content": {"application/json": {"schema": {"type": "object"}},
                                                                         "text/csv": {"schema": {"type": "string"}}}},
                          "400": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/dialplan/check": {
          "post": {
            "summary": "Check a proposed dialplan against the configuration; nothing goes live (admin, supervisor)",
            "requestBody": {"required": true, "content": {"text/plain": {"schema": {"type": "string"}}}},
            "responses": {"200": {"description": "Its errors and warnings, each with file:line:column", "content": {"application/json": {"schema": {
              "type": "object", "properties": {"ok": {"type": "boolean"}, "errors": {"type": "array"}, "warnings": {"type": "array"}}}}}},
                          "400": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/dialplan/simulate": {
          "post": {
            "summary": "A scripted call through the running plan: each step and what the call did; nothing rings (admin, supervisor)",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
              "context": {"type": "string"}, "exten": {"type": "string"}, "callerid": {"type": "string"}, "callername": {"type": "string"},
              "digits": {"type": "string"}, "time": {"type": "string", "format": "date-time"},
              "contact": {"type": "object", "additionalProperties": {"type": "string"}},
              "dial_status": {"type": "string"}, "queue_status": {"type": "string"}}, "required": ["context", "exten"]}}}},
            "responses": {"200": {"description": "The steps, commands and outcome", "content": {"application/json": {"schema": {"type": "object"}}}},
                          "400": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}}
          }
        },
        "/api/v1/dialplan/reload": {
          "post": {
            "summary": "Reload the dialplan from its files, all or nothing (admin)",
            "responses": {"200": {"description": "Applied", "content": {"application/json": {"schema": {"type": "object"}}}},
                          "422": {"description": "Refused: the plan has errors; the running one stays", "content": {"application/json": {"schema": {"type": "object"}}}}}
          }
        },
        "/api/v1/webhooks": {
          "get": {
            "summary": "Each webhook's deliveries: pending, delivered, given up, the last error (admin, supervisor)",
            "responses": {"200": {"description": "Webhooks", "content": {"application/json": {"schema": {"type": "object"}}}}}
          }
        }
      }
    }
    """#
}
