/** The outbox's IndexedDB store: queued mutations keyed by an auto-incremented sequence (send order). */

const DB_NAME = 'branchline-outbox';
const STORE = 'items';

let opening: Promise<IDBDatabase> | undefined;

function open(): Promise<IDBDatabase> {
  opening ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore(STORE, { keyPath: 'seq', autoIncrement: true });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return opening;
}

function run<T>(mode: IDBTransactionMode, fn: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return open().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const req = fn(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(req.result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      }),
  );
}

export const idb = {
  all: <T>() => run<T[]>('readonly', (s) => s.getAll() as IDBRequest<T[]>),
  add: <T>(value: T) => run('readwrite', (s) => s.add(value)).then((k) => Number(k)),
  put: <T>(value: T) => run('readwrite', (s) => s.put(value)),
  delete: (seq: number) => run('readwrite', (s) => s.delete(seq)),
  clear: () => run('readwrite', (s) => s.clear()),
};
