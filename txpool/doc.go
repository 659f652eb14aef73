// Package txpool is the mempool's pure core: the pending transfers in per-sender nonce queues,
// taken for blocks in fee order across senders and nonce order within one, with replace-by-fee
// by sender and nonce. It does no I/O and keeps no clock: the account state it needs comes in as
// arguments, and the mempool actor (package actors) makes its decisions durable and answers the
// submitters.
//
// A Pool admits a transfer (Check, then Add) when its nonce is at most 256 past the sender's
// pending run, the sender's balance covers everything queued, and the pool has room; a transfer
// with the sender and nonce of a pending one replaces it when its fee is the configured percent
// higher (MinReplaceFee). Prune drops what a new committed account state makes unminable, and
// Select takes transfers for a block template.
package txpool
