/** The GraphQL documents the Braintree adapter sends (Braintree's public schema). */

const transactionFields = `
fragment AegisTransaction on Transaction {
  id
  orderId
  status
  amount { value currencyCode }
  processorResponse { legacyCode message }
  refunds { id status amount { value currencyCode } }
  statusHistory {
    ... on ProcessorDeclinedEvent { declineType processorResponse { legacyCode message } }
    ... on GatewayRejectedEvent { gatewayRejectionReason }
    ... on FailedEvent { processorResponse { legacyCode message } }
  }
}`

export const tokenizeCreditCard = `
mutation AegisTokenize($input: TokenizeCreditCardInput!) {
  tokenizeCreditCard(input: $input) { paymentMethod { id } }
}`

export const chargeCreditCard = `
mutation AegisCharge($input: ChargeCreditCardInput!) {
  chargeCreditCard(input: $input) { transaction { ...AegisTransaction } }
}
${transactionFields}`

export const authorizeCreditCard = `
mutation AegisAuthorize($input: AuthorizeCreditCardInput!) {
  authorizeCreditCard(input: $input) { transaction { ...AegisTransaction } }
}
${transactionFields}`

export const captureTransaction = `
mutation AegisCapture($input: CaptureTransactionInput!) {
  captureTransaction(input: $input) { transaction { ...AegisTransaction } }
}
${transactionFields}`

export const reverseTransaction = `
mutation AegisReverse($input: ReverseTransactionInput!) {
  reverseTransaction(input: $input) {
    reversal {
      __typename
      ... on Transaction { ...AegisTransaction }
      ... on Refund { id orderId status amount { value currencyCode } }
    }
  }
}
${transactionFields}`

export const refundTransaction = `
mutation AegisRefund($input: RefundTransactionInput!) {
  refundTransaction(input: $input) { refund { id orderId status amount { value currencyCode } } }
}`

export const searchTransactions = `
query AegisFindTransactions($input: TransactionSearchInput!) {
  search { transactions(input: $input, first: 20) { edges { node { ...AegisTransaction } } } }
}
${transactionFields}`

export const searchRefunds = `
query AegisFindRefunds($input: RefundSearchInput!) {
  search { refunds(input: $input, first: 5) { edges { node { id orderId status amount { value currencyCode } } } } }
}`

export const ping = `query AegisPing { ping }`
