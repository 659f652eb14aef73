package api

// AnswerError is the *APIError for a non-2xx answer with status and body data, as Client's
// methods return it: for clients that speak HTTP themselves (the load generator of `node tx
// send --count`).
func AnswerError(status int, data []byte) *APIError { return answerError(status, data) }
