/** Model families in the registry (workflows import this, so it stays free of I/O). */
export const retrievalFamily = 'retrieval';
