/**
 * Where the gateways of an `AegisPay.layer` came from (simulated in-process or configured
 * accounts, with their URLs), for a start-up banner or an admin page.
 *
 * @since 0.1.0
 */
import { Context } from "effect"

/**
 * @since 0.1.0
 * @category tags
 */
export class GatewaySetup extends Context.Tag("aegispay/GatewaySetup")<
  GatewaySetup,
  {
    readonly simulated: boolean
    readonly gateways: ReadonlyArray<{ readonly id: string; readonly url: string }>
  }
>() {}
