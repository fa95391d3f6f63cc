/** Valid user and item creations for tests that only need entities on the log. */
const now = Date.now();

export const userCreated = (id: string) => ({
  eventId: `user-${id}`,
  type: 'user_created',
  userId: id,
  occurredAt: now,
  demographics: { age: 30 },
});

export const itemCreated = (id: string) => ({
  eventId: `item-${id}`,
  type: 'item_created',
  itemId: id,
  occurredAt: now,
  title: `Item ${id}`,
  categories: ['Drama'],
  year: 1999,
});
