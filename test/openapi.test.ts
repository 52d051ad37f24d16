/**
 * The OpenAPI document and Swagger UI over real HTTP on loopback: `/openapi.json` is an OpenAPI 3
 * document of every endpoint of DESIGN.md section 5 (success and error statuses, bearer security),
 * every documented operation is served, real answers match the documented schemas, `/docs` is
 * Swagger UI over the same document, and neither needs an API key.
 */
import { Api } from "@aegispay/http"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer, Schema } from "effect"
import * as MemoryServer from "./support/memoryServer.js"

const KEY = "sk_test_merchant_doc_0123456789"

class Base extends Context.Tag("test/Base")<Base, { readonly url: string }>() {}

const BaseLive = Layer.scoped(Base, MemoryServer.serve("doc", [[KEY, "merchant_doc"]]))

interface Reply {
  readonly status: number
  readonly contentType: string
  readonly text: string
  readonly body: unknown
}

const call = (path: string, init: { method?: string; key?: string | null; body?: unknown } = {}) =>
  Effect.flatMap(Base, ({ url }) =>
    Effect.promise(async (): Promise<Reply> => {
      const headers: Record<string, string> = {}
      if (init.key !== null) headers["authorization"] = `Bearer ${init.key ?? KEY}`
      if (init.body !== undefined) headers["content-type"] = "application/json"
      const res = await fetch(url + path, {
        method: init.method ?? (init.body !== undefined ? "POST" : "GET"),
        headers,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {})
      })
      const text = await res.text()
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        body = undefined
      }
      return { status: res.status, contentType: res.headers.get("content-type") ?? "", text, body }
    })
  )

interface Operation {
  readonly operationId: string
  readonly security: ReadonlyArray<Record<string, ReadonlyArray<string>>>
  readonly responses: Record<string, { content?: Record<string, { schema: unknown }> }>
  readonly requestBody?: unknown
}
interface Document {
  readonly openapi: string
  readonly info: { readonly title: string }
  readonly paths: Record<string, Record<string, Operation>>
  readonly components: {
    readonly schemas: Record<string, unknown>
    readonly securitySchemes: Record<string, Record<string, unknown>>
  }
}

/** DESIGN.md section 5: method, path, success, error statuses (401 for every /v1 path). */
const contract: ReadonlyArray<readonly [string, string, number, ReadonlyArray<number>]> = [
  ["post", "/v1/payments", 201, [400, 401, 409, 413, 422]],
  ["get", "/v1/payments/{id}", 200, [401, 404]],
  ["post", "/v1/payments/{id}/capture", 200, [401, 404, 409, 422]],
  ["post", "/v1/payments/{id}/cancel", 200, [401, 404, 409]],
  ["post", "/v1/payments/{id}/refunds", 201, [401, 404, 409, 422]],
  ["get", "/v1/payments/{id}/events", 200, [401, 404]],
  ["get", "/v1/payments", 200, [400, 401]],
  ["get", "/v1/analytics", 200, [400, 401]],
  ["get", "/v1/gateways/health", 200, [401]],
  ["get", "/metrics", 200, []],
  ["get", "/health/live", 200, []],
  ["get", "/health/ready", 200, [503]],
  ["get", "/openapi.json", 200, []],
  ["get", "/docs", 200, []]
]

const documentOf = Effect.map(call("/openapi.json", { key: null }), (r) => r.body as Document)

const create = {
  amount: 1250,
  currency: "EUR",
  customer: { id: "cus_doc" },
  paymentMethod: {
    type: "card",
    card: { number: "4242424242424242", expMonth: 12, expYear: 2030, cvc: "123" }
  },
  captureMethod: "manual"
}

const conforms = <A, I>(schema: Schema.Schema<A, I>, reply: Reply, name: string) => {
  const result = Schema.decodeUnknownEither(Schema.encodedSchema(schema), { onExcessProperty: "error" })(
    reply.body
  )
  assert.isTrue(result._tag === "Right", `${name}: ${result._tag === "Left" ? String(result.left) : ""}`)
}

layer(BaseLive, { excludeTestServices: true, timeout: "60 seconds" })(
  "OpenAPI document and Swagger UI",
  (it) => {
    it.effect("GET /openapi.json is an OpenAPI 3 document of every endpoint, served without a key", () =>
      Effect.gen(function* () {
        const reply = yield* call("/openapi.json", { key: null })
        assert.strictEqual(reply.status, 200)
        assert.include(reply.contentType, "application/json")
        const doc = reply.body as Document
        assert.match(doc.openapi, /^3\.\d+\.\d+$/)
        assert.strictEqual(doc.info.title, "AegisPay")
        assert.deepStrictEqual(doc.components.securitySchemes["bearer"], {
          type: "http",
          scheme: "bearer",
          description: "An API key: `Authorization: Bearer <key>`"
        })
        for (const [method, path, success, errors] of contract) {
          const op = doc.paths[path]?.[method]
          assert.isDefined(op, `${method} ${path} is documented`)
          const statuses = Object.keys(op!.responses)
          assert.include(statuses, String(success), `${method} ${path} success`)
          for (const status of errors) assert.include(statuses, String(status), `${method} ${path} ${status}`)
          const secured = path.startsWith("/v1/")
          assert.deepStrictEqual(op!.security, secured ? [{ bearer: [] }] : [], `${method} ${path} security`)
          for (const status of statuses.filter((s) => Number(s) >= 400 && path.startsWith("/v1/"))) {
            const schema = JSON.stringify(op!.responses[status]!.content?.["application/json"]?.schema)
            assert.include(schema, "#/components/schemas/Error", `${method} ${path} ${status} body`)
          }
        }
        const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
          Object.keys(ops).map((method) => `${method} ${path}`)
        )
        assert.sameMembers(
          documented,
          contract.map(([method, path]) => `${method} ${path}`),
          "no operation beyond the contract"
        )
        assert.deepStrictEqual(doc.components.schemas["Error"], {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["type", "code", "message"],
              properties: {
                type: {
                  type: "string",
                  enum: [
                    "invalid_request_error",
                    "authentication_error",
                    "idempotency_error",
                    "gateway_error",
                    "api_error"
                  ]
                },
                code: { type: "string", description: "machine-readable, e.g. payment_not_found" },
                message: {
                  type: "string",
                  description: "for people; on bad input it names the field, and it never echoes card data"
                }
              },
              additionalProperties: false
            }
          },
          additionalProperties: false
        })
        assert.notInclude(reply.text, "HttpApiDecodeError", "the platform's decode error is never answered")
        const body = JSON.stringify(doc.paths["/v1/payments"]!["post"]!.requestBody)
        assert.include(body, "#/components/schemas/CreatePayment")
      })
    )

    it.effect("every documented operation is served (none answers the router's 404)", () =>
      Effect.gen(function* () {
        const doc = yield* documentOf
        for (const [path, ops] of Object.entries(doc.paths)) {
          for (const method of Object.keys(ops)) {
            const r = yield* call(path.replace("{id}", "pay_unknown"), {
              method: method.toUpperCase(),
              ...(method === "post" ? { body: {} } : {})
            })
            const code = (r.body as { error?: { code?: string } } | undefined)?.error?.code
            assert.notStrictEqual(code, "not_found", `${method} ${path}`)
            assert.isBelow(r.status, 500, `${method} ${path}`)
          }
        }
        const unknown = yield* call("/v1/payments", { method: "DELETE" })
        assert.deepStrictEqual(
          [unknown.status, (unknown.body as { error: { code: string } }).error.code],
          [404, "not_found"]
        )
      })
    )

    it.effect("real answers match the documented schemas", () =>
      Effect.gen(function* () {
        const created = yield* call("/v1/payments", { body: create })
        assert.strictEqual(created.status, 201)
        conforms(Api.PaymentView, created, "payment")
        const id = (created.body as { id: string }).id
        conforms(Api.PaymentView, yield* call(`/v1/payments/${id}/capture`, { body: {} }), "capture")
        const refund = yield* call(`/v1/payments/${id}/refunds`, { body: { amount: 250, reason: "doc" } })
        assert.strictEqual(refund.status, 201)
        conforms(Api.RefundView, refund, "refund")
        conforms(Api.EventList, yield* call(`/v1/payments/${id}/events`), "events")
        conforms(Api.PaymentPage, yield* call("/v1/payments?limit=5"), "list")
        conforms(
          Api.AnalyticsView,
          yield* call("/v1/analytics?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z"),
          "analytics"
        )
        conforms(Api.GatewayHealthList, yield* call("/v1/gateways/health"), "gateway health")
        conforms(Api.HealthView, yield* call("/health/ready", { key: null }), "ready")
        conforms(Api.ErrorBody, yield* call("/v1/payments/pay_unknown"), "404")
        conforms(Api.ErrorBody, yield* call("/v1/payments", { key: null }), "401")
      })
    )

    it.effect("query and path decoding answer the contract's error body, naming the field", () =>
      Effect.gen(function* () {
        const cases: Array<[string, number, string]> = [
          ["/v1/payments?limit=abc", 400, "limit: must be a whole number from 1 to 100"],
          ["/v1/payments?limit=101", 400, "limit: must be a whole number from 1 to 100"],
          ["/v1/payments?status=a&status=b", 400, "status: "],
          ["/v1/analytics?to=2100-01-01", 400, "from: must be an ISO 8601 date"],
          ["/v1/analytics?from=yesterday&to=2100-01-01", 400, "from: must be an ISO 8601 date"],
          ["/v1/analytics?from=2100-01-01&to=2000-01-01", 400, "from: must be before to"]
        ]
        for (const [path, status, message] of cases) {
          const r = yield* call(path)
          const error = (r.body as { error: { type: string; code: string; message: string } }).error
          assert.deepStrictEqual(
            [r.status, error.type, error.code],
            [status, "invalid_request_error", "invalid_parameter"]
          )
          assert.isTrue(error.message.startsWith(message), `${path}: ${error.message}`)
        }
        const anonymous = yield* call("/v1/payments?limit=abc", { key: null })
        assert.strictEqual(anonymous.status, 401, "the key is checked before the query")
      })
    )

    it.effect("GET /docs is Swagger UI over the same document, served without a key", () =>
      Effect.gen(function* () {
        const page = yield* call("/docs", { key: null })
        assert.strictEqual(page.status, 200)
        assert.include(page.contentType, "text/html")
        assert.include(page.text, "SwaggerUIBundle")
        const embedded = /<script id="swagger-spec" type="application\/json">([\s\S]*?)<\/script>/.exec(
          page.text
        )
        assert.isNotNull(embedded)
        assert.deepStrictEqual(JSON.parse(embedded![1]!), yield* documentOf)
      })
    )
  }
)
