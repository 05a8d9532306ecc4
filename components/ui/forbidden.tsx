export function Forbidden({ message }: { message: string }) {
  return (
    <div role="alert" className="rounded-lg border border-red-200 bg-red-50 p-6 text-red-900">
      <h1 className="text-lg font-semibold">403: not allowed</h1>
      <p className="mt-1 text-sm">{message}</p>
    </div>
  );
}
