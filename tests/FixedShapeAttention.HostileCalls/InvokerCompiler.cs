using System;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FixedShapeAttention.HostileCalls;

/// <summary>Calls one public member with boxed arguments, spans and refs included.</summary>
internal delegate object? Invoker(object? target, object?[] arguments);

/// <summary>
/// Compiles a call to any public method or constructor into a <see cref="DynamicMethod"/>. Reflection's own
/// <c>Invoke</c> cannot pass spans or refs to an array element, and those are exactly the parameters whose lengths
/// the unsafe kernels trust, so the call is emitted as safe code would write it: a span is made from an array (null
/// gives the default span), a <c>ref T</c> is the first element of an array (null gives a null ref), and a
/// <c>ref struct</c> argument or receiver is its default value.
/// </summary>
internal static class InvokerCompiler
{
    private static readonly MethodInfo s_arrayDataReference =
        typeof(MemoryMarshal).GetMethod(nameof(MemoryMarshal.GetArrayDataReference), 1, [Type.MakeGenericMethodParameter(0).MakeArrayType()])!;

    private static readonly MethodInfo s_nullRef = typeof(Unsafe).GetMethod(nameof(Unsafe.NullRef))!;

    public static Invoker Compile(MethodBase member)
    {
        Type declaring = member.DeclaringType!;
        var method = new DynamicMethod("Call_" + member.Name, typeof(object), [typeof(object), typeof(object[])], typeof(InvokerCompiler).Module, skipVisibility: true);
        ILGenerator il = method.GetILGenerator();
        bool constructor = member is ConstructorInfo;
        if (!member.IsStatic && !constructor)
        {
            if (declaring.IsByRefLike)
            {
                LocalBuilder receiver = il.DeclareLocal(declaring);
                il.Emit(OpCodes.Ldloca, receiver);
                il.Emit(OpCodes.Initobj, declaring);
                il.Emit(OpCodes.Ldloca, receiver);
            }
            else if (declaring.IsValueType)
            {
                il.Emit(OpCodes.Ldarg_0);
                il.Emit(OpCodes.Unbox, declaring);
            }
            else
            {
                il.Emit(OpCodes.Ldarg_0);
                il.Emit(OpCodes.Castclass, declaring);
            }
        }

        ParameterInfo[] parameters = member.GetParameters();
        for (int i = 0; i < parameters.Length; i++)
        {
            EmitArgument(il, parameters[i].ParameterType, i);
        }

        Type returned;
        if (member is ConstructorInfo ctor)
        {
            il.Emit(OpCodes.Newobj, ctor);
            returned = declaring;
        }
        else
        {
            var target = (MethodInfo)member;
            il.Emit(member.IsStatic || declaring.IsValueType ? OpCodes.Call : OpCodes.Callvirt, target);
            returned = target.ReturnType;
        }

        EmitResult(il, returned);
        il.Emit(OpCodes.Ret);
        return method.CreateDelegate<Invoker>();
    }

    /// <summary>Whether a parameter of this type can be supplied by <see cref="Compile"/>.</summary>
    public static bool CanSupply(Type type)
    {
        Type t = type.IsByRef ? type.GetElementType()! : type;
        return !t.IsPointer && !t.IsFunctionPointer && !t.ContainsGenericParameters;
    }

    private static void EmitArgument(ILGenerator il, Type type, int index)
    {
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldc_I4, index);
        il.Emit(OpCodes.Ldelem_Ref);
        if (type.IsByRef)
        {
            Type element = type.GetElementType()!;
            if (element.IsByRefLike)
            {
                il.Emit(OpCodes.Pop);
                LocalBuilder local = il.DeclareLocal(element);
                il.Emit(OpCodes.Ldloca, local);
                il.Emit(OpCodes.Initobj, element);
                il.Emit(OpCodes.Ldloca, local);
            }
            else if (element.IsValueType && !ValuePools.IsRefToArrayElement(element))
            {
                // in/ref of a struct such as TransformerShape: the boxed copy's data.
                il.Emit(OpCodes.Unbox, element);
            }
            else if (element.IsValueType)
            {
                // ref float and friends: the first element of the array, or a null ref.
                Label notNull = il.DefineLabel(), done = il.DefineLabel();
                il.Emit(OpCodes.Dup);
                il.Emit(OpCodes.Brtrue, notNull);
                il.Emit(OpCodes.Pop);
                il.Emit(OpCodes.Call, s_nullRef.MakeGenericMethod(element));
                il.Emit(OpCodes.Br, done);
                il.MarkLabel(notNull);
                il.Emit(OpCodes.Castclass, element.MakeArrayType());
                il.Emit(OpCodes.Call, s_arrayDataReference.MakeGenericMethod(element));
                il.MarkLabel(done);
            }
            else
            {
                LocalBuilder local = il.DeclareLocal(element);
                il.Emit(OpCodes.Castclass, element);
                il.Emit(OpCodes.Stloc, local);
                il.Emit(OpCodes.Ldloca, local);
            }

            return;
        }

        if (ValuePools.SpanElement(type) is Type spanElement)
        {
            il.Emit(OpCodes.Castclass, spanElement.MakeArrayType());
            il.Emit(OpCodes.Call, type.GetMethod("op_Implicit", [spanElement.MakeArrayType()])!);
        }
        else if (type.IsByRefLike)
        {
            il.Emit(OpCodes.Pop);
            LocalBuilder local = il.DeclareLocal(type);
            il.Emit(OpCodes.Ldloca, local);
            il.Emit(OpCodes.Initobj, type);
            il.Emit(OpCodes.Ldloc, local);
        }
        else if (type.IsValueType)
        {
            il.Emit(OpCodes.Unbox_Any, type);
        }
        else
        {
            il.Emit(OpCodes.Castclass, type);
        }
    }

    // A result is used the way a caller would use it: a ref is read, a span's length is taken.
    private static void EmitResult(ILGenerator il, Type type)
    {
        if (type == typeof(void))
        {
            il.Emit(OpCodes.Ldnull);
        }
        else if (type.IsByRef)
        {
            Type element = type.GetElementType()!;
            if (element.IsByRefLike)
            {
                il.Emit(OpCodes.Pop);
                il.Emit(OpCodes.Ldnull);
            }
            else
            {
                il.Emit(OpCodes.Ldobj, element);
                if (element.IsValueType)
                {
                    il.Emit(OpCodes.Box, element);
                }
            }
        }
        else if (ValuePools.SpanElement(type) is not null)
        {
            LocalBuilder local = il.DeclareLocal(type);
            il.Emit(OpCodes.Stloc, local);
            il.Emit(OpCodes.Ldloca, local);
            il.Emit(OpCodes.Call, type.GetProperty("Length")!.GetMethod!);
            il.Emit(OpCodes.Box, typeof(int));
        }
        else if (type.IsByRefLike)
        {
            il.Emit(OpCodes.Pop);
            il.Emit(OpCodes.Ldnull);
        }
        else if (type.IsValueType)
        {
            il.Emit(OpCodes.Box, type);
        }
    }
}
